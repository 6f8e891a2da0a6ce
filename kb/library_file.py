"""The library file (`careline-library/1`): import as one atomic upsert by key, export back.

The same functions serve `manage.py import_library` / `export_library` and the admin's upload and
download. A bad file is rejected whole: every problem is reported with the entry and field it
concerns, and nothing is written.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils.dateparse import parse_datetime

from config.validators import unstorable_because
from kb import services
from kb.channels import Channel
from kb.models import Brand, Department, Example, Issue, Response
from kb.services import User

FORMAT = "careline-library/1"

_TOP_FIELDS = {"format": str, "brands": list, "issues": list}
_BRAND_FIELDS = {"key": str, "name": str, "handle": str}
_ISSUE_FIELDS = {
    "key": str,
    "brand": (str, type(None)),
    "title": str,
    "description": str,
    "tags": list,
    "private_channel": bool,
    "active": bool,
    "severity": str,
    "department": (str, type(None)),
    "examples": list,
    "responses": list,
}
_RESPONSE_FIELDS = {
    "key": str,
    "channel": str,
    "status": str,
    "text": str,
    "language": str,
    "valid_from": (str, type(None)),
    "valid_until": (str, type(None)),
}
_REQUIRED = {"brand": ("key", "name", "handle"), "issue": ("key", "title"), "response": ("key", "text")}
# Checked with the model's own validators and max_length before anything is written, so a file
# hears about all its problems at once and meets the same limits as the API.
_MODEL_FIELDS: dict[str, tuple[type[models.Model], tuple[str, ...]]] = {
    "brand": (Brand, ("key", "name", "handle")),
    "issue": (Issue, ("key", "title", "description")),
    "response": (Response, ("key", "text", "language")),
}
# The format itself is 5 deep (file, issues, issue, responses, response); this leaves room.
MAX_DEPTH = 32
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}:,]')


class LibraryFileError(Exception):
    """The file cannot be imported; `errors` says where and why, one line each."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


@dataclass
class ImportReport:
    dry_run: bool
    changes: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # left as they are, for an editor to look at

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def summary(self, *, detail: bool = True) -> str:
        """What changed, line by line, or (detail=False) new and changed entries counted by kind
        (`+ new: 57 issue, 379 example`) with retirements still listed."""
        verb = "would be made" if self.dry_run else "made"
        lines = (
            [f"{len(self.changes)} change(s) {verb}:"]
            if self.changes
            else ["Library is up to date: nothing to change."]
        )
        if detail:
            lines += [f"  {line}" for line in self.changes]
        else:
            counts = Counter(tuple(line.split()[:2]) for line in self.changes)
            for sign, label in (("+", "new"), ("~", "changed")):
                kinds = [f"{count} {kind}" for (mark, kind), count in counts.items() if mark == sign]
                if kinds:
                    lines.append(f"  {sign} {label}: {', '.join(kinds)}")
            # Retirements are always listed one by one: nobody should miss one.
            lines += [f"  {line}" for line in self.changes if line.startswith("-")]
        if self.notices:
            lines += ["Notes:"] + [f"  ! {line}" for line in self.notices]
        return "\n".join(lines)


class _Rollback(Exception):
    pass


def library_parse(raw: bytes | str) -> dict[str, Any]:
    """Decode a library file, or raise LibraryFileError saying where the JSON breaks or nests
    deeper than MAX_DEPTH."""
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise LibraryFileError(["file: not UTF-8 text"]) from None
    except json.JSONDecodeError as exc:
        raise LibraryFileError(
            [f"file: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"]
        ) from None
    except RecursionError:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        raise LibraryFileError([f"{_deep_where(text)}: nested more than {MAX_DEPTH} levels deep"]) from None
    except ValueError:  # Python refuses to read an integer of more than 4,300 digits
        raise LibraryFileError(["file: not valid JSON (a number too long to read)"]) from None
    if not isinstance(data, dict):
        raise LibraryFileError(["file: must be a JSON object with format, brands and issues"])
    return data


def library_import(
    *, data: dict[str, Any], prune: bool = False, dry_run: bool = False, user: User | None = None
) -> ImportReport:
    """Upsert brands, issues, examples and responses by key, in one transaction.

    `prune` also retires issues, responses and examples the file no longer names. `dry_run`
    does all the work, reports it, and rolls it back. Raises LibraryFileError (nothing written)
    when any entry is invalid.
    """
    if not services.can_approve(user):
        raise PermissionDenied("Only editors may import a library: a file can approve responses.")
    errors, notices = _check_structure(data)
    if errors:
        raise LibraryFileError(errors)
    importer = _Importer(user=user, prune=prune)
    importer.notices += notices
    report = ImportReport(dry_run=dry_run, changes=importer.changes, notices=importer.notices)
    try:
        with transaction.atomic(), services.library_batch():
            importer.run(data)
            if importer.errors:
                raise LibraryFileError(importer.errors)
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return report


def library_export() -> dict[str, Any]:
    """The whole library in the file format, in a stable order (export is byte-for-byte repeatable)."""
    issues = Issue.objects.select_related("brand", "department").prefetch_related(
        "tags", "examples", "responses"
    )
    return {
        "format": FORMAT,
        "brands": [
            {"key": brand.key, "name": brand.name, "handle": brand.handle}
            for brand in Brand.objects.order_by("key")
        ],
        "issues": [_issue_entry(issue) for issue in issues.order_by("key")],
    }


def library_dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _issue_entry(issue: Issue) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": issue.key}
    if issue.brand:
        entry["brand"] = issue.brand.key
    entry.update(
        title=issue.title,
        description=issue.description,
        tags=sorted(tag.name for tag in issue.tags.all()),
        private_channel=issue.private_channel,
    )
    # Written only when set, so files of libraries that never set them read as before.
    if issue.severity != Issue.Severity.NORMAL:
        entry["severity"] = issue.severity
    if issue.department is not None:
        entry["department"] = issue.department.name
    if not issue.is_active:
        entry["active"] = False
    entry["examples"] = [
        example.text
        for example in sorted(issue.examples.all(), key=lambda e: e.pk)
        if example.status == Example.Status.ACTIVE
    ]
    entry["responses"] = [
        _response_entry(response) for response in sorted(issue.responses.all(), key=lambda r: r.key)
    ]
    return entry


def _response_entry(response: Response) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "key": response.key,
        "channel": response.channel,
        "status": response.status,
        "text": response.text,
        "language": response.language,
    }
    for name in ("valid_from", "valid_until"):
        moment = getattr(response, name)
        if moment is not None:
            entry[name] = moment.astimezone(UTC).isoformat()
    return entry


# ---- checking the file's shape ------------------------------------------------------------------


def _check_structure(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Every problem of the file that can be found without writing (errors), and what will be
    tidied on the way in (notices)."""
    errors = [f"{where}: {why}" for where, why in _unreadable(data)]
    notices: list[str] = []
    errors += _check_fields("file", data, _TOP_FIELDS, required=("format",))
    if "format" in data and data["format"] != FORMAT:
        errors.append(f"file: format: must be {FORMAT!r}, got {_preview(data['format'])}")
    brand_keys = _check_entries(errors, data.get("brands"), "brands", "brand", _BRAND_FIELDS)
    response_keys: set[str] = set()
    issues: list[Any] = data["issues"] if isinstance(data.get("issues"), list) else []
    _check_entries(errors, issues, "issues", "issue", _ISSUE_FIELDS)
    for index, issue in enumerate(issues):
        if not isinstance(issue, dict):
            continue
        where = _where("issues", index, issue)
        brand = issue.get("brand")
        if (
            isinstance(brand, str)
            and brand not in brand_keys
            and not unstorable_because(brand)
            and not Brand.objects.filter(key=brand).exists()
        ):
            errors.append(f"{where}: brand: unknown brand {brand!r}")
        errors += _check_severity_and_department(where, issue)
        tags = issue.get("tags", [])
        if isinstance(tags, list) and not all(isinstance(tag, str) for tag in tags):
            errors.append(f"{where}: tags: must be a list of strings")
        examples = issue.get("examples", [])
        if isinstance(examples, list):
            errors += _check_examples(where, examples, notices)
        responses = issue.get("responses", [])
        if isinstance(responses, list):
            for r_index, response in enumerate(responses):
                r_where = f"{where}: {_where('responses', r_index, response)}"
                errors += _check_response(r_where, response, response_keys)
    return errors, notices


SEVERITIES = tuple(Issue.Severity.values)


def _check_severity_and_department(where: str, issue: dict[str, Any]) -> list[str]:
    """An issue's ``severity`` (one of SEVERITIES) and ``department`` (the name of one the library
    has, or null for none); either left out keeps what the issue has."""
    errors = []
    severity = issue.get("severity")
    if isinstance(severity, str) and severity not in SEVERITIES:
        errors.append(f"{where}: severity: must be one of {', '.join(SEVERITIES)}, got {_preview(severity)}")
    department = issue.get("department")
    if (
        isinstance(department, str)
        and not unstorable_because(department)
        and not Department.objects.filter(name=department).exists()
    ):
        errors.append(f"{where}: department: unknown department {department!r}")
    return errors


def _check_entries(errors: list[str], entries: Any, name: str, kind: str, fields: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    if not isinstance(entries, list):
        return keys
    for index, entry in enumerate(entries):
        where = _where(name, index, entry)
        if not isinstance(entry, dict):
            errors.append(f"{where}: must be an object")
            continue
        errors += _check_fields(where, entry, fields, required=_REQUIRED[kind])
        errors += _check_model_fields(where, entry, kind)
        key = entry.get("key")
        if isinstance(key, str):
            if key in keys:
                errors.append(f"{where}: key: {kind} {key!r} appears more than once")
            keys.add(key)
    return keys


def _check_examples(where: str, examples: list[Any], notices: list[str]) -> list[str]:
    """Each example a non-empty string the model takes; one that repeats an earlier one, exactly
    or but for spaces, is merged into it with a notice (real data repeats phrasings)."""
    errors = []
    seen: dict[str, int] = {}
    limit = Example._meta.get_field("text").max_length
    for index, text in enumerate(examples):
        e_where = f"{where}: examples[{index}]"
        if not isinstance(text, str) or not text.strip():
            errors.append(f"{e_where}: must be a non-empty string")
        elif limit is not None and len(text.strip()) > limit:
            errors.append(f"{e_where}: {_too_long(text.strip(), limit)}")
        elif phrasing_key(text) in seen:
            notices.append(f"{e_where} repeats examples[{seen[phrasing_key(text)]}]; merged")
        else:
            seen[phrasing_key(text)] = index
    return errors


def phrasing_key(text: str) -> str:
    """What two examples share when they differ only in spaces."""
    return " ".join(text.split())


def _too_long(value: str, limit: int) -> str:
    return f"{len(value):,} characters, over the {limit:,} allowed"


def _check_model_fields(where: str, entry: dict[str, Any], kind: str) -> list[str]:
    """The entry's strings against the model fields they become: max_length, then validators
    (key and handle formats, language tags, response templates)."""
    model, names = _MODEL_FIELDS[kind]
    errors = []
    for name in names:
        value = entry.get(name)
        if (
            not isinstance(value, str)
            or unstorable_because(value)
            or (name in _REQUIRED[kind] and not value.strip())
        ):
            continue  # reported already
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field)
        if field.max_length is not None and len(value) > field.max_length:
            errors.append(f"{where}: {name}: {_too_long(value, field.max_length)}")
            continue
        try:
            field.run_validators(value)
        except ValidationError as exc:
            errors += [f"{where}: {name}: {message}" for message in exc.messages]
    return errors


def _check_response(where: str, response: Any, keys: set[str]) -> list[str]:
    if not isinstance(response, dict):
        return [f"{where}: must be an object"]
    errors = _check_fields(where, response, _RESPONSE_FIELDS, required=_REQUIRED["response"])
    errors += _check_model_fields(where, response, "response")
    key = response.get("key")
    if isinstance(key, str):
        if key in keys:
            errors.append(f"{where}: key: response {key!r} appears more than once")
        keys.add(key)
    if response.get("channel", Channel.ANY) not in Channel.values:
        errors.append(
            f"{where}: channel: {response.get('channel')!r} is not one of {', '.join(Channel.values)}"
        )
    if response.get("status", Response.Status.DRAFT) not in Response.Status.values:
        errors.append(
            f"{where}: status: {response.get('status')!r} is not one of {', '.join(Response.Status.values)}"
        )
    for name in ("valid_from", "valid_until"):
        value = response.get(name)
        if isinstance(value, str) and _parse_moment(value) is None:
            errors.append(f"{where}: {name}: {value!r} is not a date-time with a time zone (ISO 8601)")
    return errors


def _check_fields(
    where: str, entry: dict[str, Any], fields: dict[str, Any], required: tuple[str, ...]
) -> list[str]:
    errors = [f"{where}: {name}: required" for name in required if name not in entry]
    for name, value in entry.items():
        if name not in fields:
            errors.append(f"{where}: {_shown(name)}: unknown field (expected one of {', '.join(fields)})")
        elif not isinstance(value, fields[name]) or (
            fields[name] is str and name in required and not value.strip()
        ):
            errors.append(f"{where}: {name}: {_type_name(fields[name])} expected, got {_preview(value)}")
    return errors


def _type_name(kind: Any) -> str:
    names = {str: "a non-empty string", bool: "true or false", list: "a list"}
    return names.get(kind, "a string or null")


def _where(name: str, index: int, entry: Any) -> str:
    key = entry.get("key") if isinstance(entry, dict) else None
    return f"{name}[{index}]" + (f" {key!r}" if isinstance(key, str) else "")


def _preview(value: Any) -> str:
    """The start of a value as JSON (non-ASCII escaped, so any terminal can print it)."""
    try:
        return json.dumps(value)[:40]
    except (RecursionError, ValueError):
        return "a value nested too deep to show"


def _shown(name: str) -> str:
    """A name from the file as a message can carry it (escaped when it holds control characters)."""
    return name if name.isprintable() else repr(name)


def _unreadable(data: Any) -> Iterator[tuple[str, str]]:
    """(where, why) for each string in the file, or field name, that no database can store, and
    each place nested deeper than MAX_DEPTH."""
    too_deep: set[str] = set()
    for where, value, depth in _walk(data):
        if depth > MAX_DEPTH:
            if where not in too_deep:
                too_deep.add(where)
                yield where, f"nested more than {MAX_DEPTH} levels deep"
        elif isinstance(value, str) and (why := unstorable_because(value)):
            yield where, why
        elif isinstance(value, dict):
            for name in value:
                if why := unstorable_because(name):
                    yield f"{where}: {_shown(name)}", f"the field name {why}"


def _walk(data: Any) -> Iterator[tuple[str, Any, int]]:
    """Every value in a parsed file, in file order, with where it is (as the errors name it) and
    how deep. Iterative: a deeply nested file must not take the reader down with it."""
    # (where, the entry it belongs to, the field it is in, value, depth)
    stack: list[tuple[str, str, str, Any, int]] = [("file", "", "", data, 0)]
    while stack:
        where, entry, field_name, value, depth = stack.pop()
        yield where, value, depth
        children: list[tuple[str, str, str, Any, int]] = []
        if isinstance(value, dict):
            children = [
                (f"{where}: {_shown(str(name))}", where, str(name), item, depth + 1)
                for name, item in value.items()
            ]
        elif isinstance(value, list):
            for index, item in enumerate(value):
                children.append(
                    (_item_where(where, entry, field_name, index, item), entry, field_name, item, depth + 1)
                )
        stack.extend(reversed(children))


def _item_where(where: str, entry: str, field_name: str, index: int, item: Any) -> str:
    if isinstance(item, dict):  # an entry: brands[0] 'acme-air', issues[1] 'x': responses[0] 'y'
        named = _where(field_name, index, item)
        return named if entry in ("", "file") else f"{entry}: {named}"
    if isinstance(item, list):  # lists within lists are the field's problem as a whole
        return where
    return f"{where}[{index}]"


def _deep_where(text: str) -> str:
    """Where a file too deep for the JSON reader first goes deeper than MAX_DEPTH, found by
    reading its brackets (entries are named by position: their keys may not be read yet)."""
    # One frame per open container: [bracket, key or index]; keys of objects, indexes of lists.
    frames: list[list[Any]] = []
    expecting_key = False
    for token in _JSON_TOKEN.finditer(text):
        mark = token.group()
        if mark in "[{":
            if len(frames) >= MAX_DEPTH:
                break
            frames.append([mark, None if mark == "{" else 0])
            expecting_key = mark == "{"
        elif mark in "]}":
            if frames:
                frames.pop()
            expecting_key = False
        elif mark == ",":
            if frames and frames[-1][0] == "[":
                frames[-1][1] += 1
            expecting_key = bool(frames) and frames[-1][0] == "{"
        elif mark.startswith('"') and expecting_key and frames:
            try:
                frames[-1][1] = str(json.loads(mark))
            except ValueError:
                frames[-1][1] = "?"
            expecting_key = False
    where, entry, field_name = "file", "", ""
    for position, (bracket, step) in enumerate(frames):
        inner = frames[position + 1][0] if position + 1 < len(frames) else "["
        if bracket == "{" and step is not None:
            entry, field_name, where = where, step, f"{where}: {_shown(step)}"
        elif bracket == "[" and inner == "{":
            named = f"{field_name}[{step}]"
            where = named if entry in ("", "file") else f"{entry}: {named}"
    return where


def _parse_moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


# ---- applying the file ----------------------------------------------------------------------------


class _Importer:
    """Applies a structurally valid file through the library services, noting each change."""

    def __init__(self, *, user: User | None, prune: bool) -> None:
        self.user = user
        self.prune = prune
        self.changes: list[str] = []
        self.notices: list[str] = []
        self.errors: list[str] = []

    def run(self, data: dict[str, Any]) -> None:
        brands = {brand.key: brand for brand in Brand.objects.all()}
        for index, entry in enumerate(data.get("brands", [])):
            brand = self._guard(
                _where("brands", index, entry), lambda e=entry: self._brand(e, brands.get(e["key"]))
            )
            if brand is not None:
                brands[brand.key] = brand
        named_issues: set[str] = set()
        named_responses: set[str] = set()
        for index, entry in enumerate(data.get("issues", [])):
            where = _where("issues", index, entry)
            issue = self._guard(where, lambda e=entry: self._issue(e, brands.get(e.get("brand") or "")))
            named_issues.add(entry["key"])
            named_responses.update(response["key"] for response in entry.get("responses", []))
            if issue is not None:
                self._examples(where, issue, entry.get("examples", []))
                for r_index, response in enumerate(entry.get("responses", [])):
                    r_where = f"{where}: {_where('responses', r_index, response)}"
                    self._guard(r_where, lambda r=response, i=issue: self._response(i, r))
        if self.prune and not self.errors:
            self._prune(named_issues, named_responses)

    def _guard(self, where: str, step: Any) -> Any:
        try:
            return step()
        except ValidationError as exc:
            messages = exc.message_dict.items() if hasattr(exc, "error_dict") else [("", exc.messages)]
            for name, lines in messages:
                for line in lines:
                    self.errors.append(f"{where}: {name + ': ' if name and name != '__all__' else ''}{line}")
        except PermissionDenied as exc:
            self.errors.append(f"{where}: {exc}")
        return None

    def _brand(self, entry: dict[str, Any], brand: Brand | None) -> Brand:
        fields = {name: entry[name] for name in ("name", "handle")}
        if brand is None:
            self.changes.append(f"+ brand {entry['key']}")
            return services.brand_create(key=entry["key"], created_by=self.user, **fields)
        self._note("brand", brand, fields)
        return services.brand_update(brand=brand, updated_by=self.user, **fields)

    def _issue(self, entry: dict[str, Any], brand: Brand | None) -> Issue:
        fields = {
            "brand": brand,
            "title": entry["title"],
            "description": entry.get("description", ""),
            "private_channel": entry.get("private_channel", False),
        }
        if "severity" in entry:
            fields["severity"] = entry["severity"]
        if "department" in entry:
            name = entry["department"]
            fields["department"] = None if name is None else Department.objects.get(name=name)
        tags = entry.get("tags", [])
        issue = Issue.objects.filter(key=entry["key"]).first()
        if issue is None:
            self.changes.append(f"+ issue {entry['key']}")
            issue = services.issue_create(key=entry["key"], tags=tags, created_by=self.user, **fields)
            if not entry.get("active", True):
                services.issue_retire(issue=issue, retired_by=self.user)
            return issue
        fields["is_active"] = entry.get("active", True)
        # Compared as services.issue_set_tags stores them, or "Ops" would be a change on every import.
        wanted_tags = {tag.strip().lower() for tag in tags if tag.strip()}
        tags_changed = wanted_tags != set(issue.tags.values_list("name", flat=True))
        if self._note("issue", issue, fields, also=["tags"] if tags_changed else []):
            services.issue_update(issue=issue, updated_by=self.user, tags=tags, **fields)
        return issue

    def _examples(self, where: str, issue: Issue, texts: list[str]) -> None:
        # Matched but for spaces: the file's repeats are merged (see _check_examples), and a
        # phrasing the library holds with other spacing is the same example.
        existing = {phrasing_key(example.text): example for example in issue.examples.all()}
        wanted: dict[str, tuple[int, str]] = {}
        for index, text in enumerate(texts):
            wanted.setdefault(phrasing_key(text), (index, text.strip()))
        for key, (index, text) in wanted.items():
            example = existing.get(key)
            e_where = f"{where}: examples[{index}]"
            if example is None:
                self.changes.append(f"+ example of {issue.key}: {text[:60]!r}")
                self._guard(
                    e_where, lambda t=text: services.example_create(issue=issue, text=t, created_by=self.user)
                )
            elif example.status != Example.Status.ACTIVE:
                self.changes.append(f"~ example of {issue.key}: {text[:60]!r} active again")
                self._guard(
                    e_where,
                    lambda e=example: services.example_update(
                        example=e, updated_by=self.user, status=Example.Status.ACTIVE
                    ),
                )
        if self.prune:
            for key, example in existing.items():
                if key not in wanted and example.status == Example.Status.ACTIVE:
                    self.changes.append(f"- example of {issue.key}: {example.text[:60]!r} retired")
                    services.example_retire(example=example, retired_by=self.user)

    def _response(self, issue: Issue, entry: dict[str, Any]) -> Response:
        fields = {
            "issue": issue,
            "channel": entry.get("channel", Channel.ANY),
            "text": entry["text"],
            "language": entry.get("language", "en"),
            "valid_from": _parse_moment(entry.get("valid_from")),
            "valid_until": _parse_moment(entry.get("valid_until")),
        }
        status = entry.get("status", Response.Status.DRAFT)
        response = Response.objects.filter(key=entry["key"]).first()
        if response is None:
            self.changes.append(f"+ response {entry['key']} ({status})")
            # A reviewed file is the one path that puts a new response straight into its status.
            created = services.response_create(key=entry["key"], created_by=self.user, **fields)
            if status != created.status:
                services.response_set_status(response=created, to_status=status, user=self.user)
            return created
        content_changed = self._note("response", response, fields)
        if status != Response.Status.APPROVED:
            # Leave approved before the new words land: only an approval checks that they fit.
            self._status(response, status)
        if content_changed:
            services.response_update(response=response, updated_by=self.user, **fields)
        self._status(response, status)
        return response

    def _status(self, response: Response, status: str) -> None:
        if status == response.status:
            return
        if response.status == Response.Status.RETIRED and status == Response.Status.APPROVED:
            if response.key not in " ".join(self.notices):
                self.notices.append(
                    f"response {response.key} is retired here but approved in the file: left retired; "
                    "reopen it and send it through review to bring it back"
                )
            return
        before = response.status
        services.response_set_status(response=response, to_status=status, user=self.user)
        self.changes.append(f"~ response {response.key}: {before} -> {response.status}")

    def _prune(self, issue_keys: set[str], response_keys: set[str]) -> None:
        for issue in Issue.objects.filter(is_active=True).exclude(key__in=issue_keys):
            self.changes.append(f"- issue {issue.key} retired")
            services.issue_retire(issue=issue, retired_by=self.user)
        stale = Response.objects.exclude(key__in=response_keys).exclude(status=Response.Status.RETIRED)
        for response in stale:
            self.changes.append(f"- response {response.key} retired")
            services.response_retire(response=response, retired_by=self.user)

    def _note(
        self, kind: str, instance: Any, fields: dict[str, Any], also: list[str] | None = None
    ) -> list[str]:
        changed = [name for name, value in fields.items() if getattr(instance, name) != value] + (also or [])
        if changed:
            self.changes.append(f"~ {kind} {instance.key}: {', '.join(changed)}")
        return changed
