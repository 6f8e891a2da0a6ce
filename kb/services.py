"""Every write to the library goes through here: admin, API, import and tasks alike."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as Account
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_slug
from django.db import models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone

from kb.models import Brand, Department, Example, Issue, Response, Tag
from kb.rendering import SAMPLE_CONTEXT, render_reply
from kb.selectors import brands_served_by, may_edit_for
from kb.signals import library_changed

User = Account | AnonymousUser
Status = Response.Status

# (from, to): the name of the step, as editors see it in messages.
TRANSITIONS: dict[tuple[str, str], str] = {
    (Status.DRAFT, Status.IN_REVIEW): "submit for review",
    (Status.RETIRED, Status.IN_REVIEW): "submit for review",
    (Status.IN_REVIEW, Status.APPROVED): "approve",
    (Status.IN_REVIEW, Status.DRAFT): "send back to draft",
    (Status.APPROVED, Status.DRAFT): "withdraw to draft",
    (Status.RETIRED, Status.DRAFT): "reopen as draft",
    (Status.DRAFT, Status.RETIRED): "retire",
    (Status.IN_REVIEW, Status.RETIRED): "retire",
    (Status.APPROVED, Status.RETIRED): "retire",
}
RESPONSE_CONTENT_FIELDS = ("key", "issue", "channel", "text", "language", "valid_from", "valid_until")
ISSUE_FIELDS = (
    "key",
    "brand",
    "title",
    "description",
    "private_channel",
    "is_active",
    "severity",
    "department",
)
EXAMPLE_FIELDS = ("issue", "text", "source", "status")
BRAND_FIELDS = ("key", "name", "handle")
# What a new response may start as; approval always follows a review.
CREATE_STATUSES = (Status.DRAFT, Status.IN_REVIEW)
# Bookkeeping a history diff leaves out when it says what someone changed.
NOT_CHANGES = ("version", "created_at", "updated_at", "approved_at", "approved_by")

Row = TypeVar("Row", Brand, Issue, Example, Response)


class LibraryConflict(ValidationError):
    """The write does not fit the row as it stands now (the API answers 409)."""


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


class StaleVersion(LibraryConflict):
    """Someone saved the row after the writer read it: their write is refused, never merged.
    Names who made the latest change, when, and what changed since the writer's version."""

    def __init__(self, row: Brand | Issue | Example | Response, expected: int) -> None:
        self.row = row
        self.expected = expected
        self.current: int = row.version
        latest = row.history.first()  # type: ignore[union-attr]
        user = latest.history_user if latest is not None else None
        self.changed_by_username = user.get_username() if user is not None else None
        self.changed_by = (user.get_full_name() or user.get_username()) if user is not None else None
        self.changed_at: datetime = latest.history_date if latest is not None else row.updated_at
        self.changes = _changes_since(row, expected, latest)
        noun = row._meta.verbose_name
        name = getattr(row, "key", None) or f"{noun} {row.pk}"
        who = self.changed_by or "the command line"
        fields = ", ".join(change.field for change in self.changes)
        message = (
            f"{name}: {who} changed this {noun} at "
            f"{timezone.localtime(self.changed_at):%Y-%m-%d %H:%M %Z} (now version {self.current}, "
            f"you had version {expected})" + (f": {fields}" if fields else "") + ". "
            "Nothing was saved; start again from their version."
        )
        super().__init__({"version": ValidationError(message, code="stale")})


def _changes_since(row: models.Model, version: int, latest: Any) -> list[Change]:
    """What the history says changed between the writer's version and now."""
    if latest is None:
        return []
    seen = row.history.filter(version=version).first()  # type: ignore[attr-defined]
    if seen is None or seen.pk == latest.pk:
        return []
    delta = latest.diff_against(seen, excluded_fields=NOT_CHANGES)
    return [Change(change.field, change.old, change.new) for change in delta.changes]


def _lock(row: Row, expected_version: int | None) -> None:
    """Re-read the row under a lock held to the end of the transaction, so what a write decides
    from it (a response's status above all) is what is stored, and refuse a writer who read an
    older version than the one stored."""
    if row.pk is None:
        return
    row.refresh_from_db(from_queryset=type(row)._default_manager.select_for_update())
    if expected_version is not None and row.version != expected_version:
        raise StaleVersion(row, expected_version)


def can_approve(user: User | None) -> bool:
    """Editors approve. No user means a trusted operator at the command line."""
    return user is None or user.has_perm("kb.approve_response")


_batch: ContextVar[set[int] | None] = ContextVar("library_batch", default=None)


def library_announce_change(issue_ids: Iterable[int]) -> None:
    """Tell subscribers (the suggestion index) which issues changed, once the transaction commits.
    Inside `library_batch()` the announcement waits for the end of the batch."""
    ids = frozenset(issue_ids)
    pending = _batch.get()
    if pending is not None:
        pending.update(ids)
    elif ids:
        transaction.on_commit(lambda: library_changed.send(sender=Issue, issue_ids=ids))


@contextmanager
def library_batch() -> Iterator[None]:
    """Collect the changes of many writes (an import) into a single announcement."""
    pending: set[int] = set()
    token = _batch.set(pending)
    try:
        yield
    finally:
        _batch.reset(token)
    library_announce_change(pending)


# ---- brands -----------------------------------------------------------------------------------


@transaction.atomic
def brand_create(
    *,
    key: str,
    name: str,
    handle: str,
    members: Iterable[Account] | None = None,
    created_by: User | None = None,
) -> Brand:
    _check_serves(created_by, None)  # a new brand is nobody's yet: for those who serve every brand
    brand = Brand(key=key, name=name, handle=handle)
    _save(brand, user=created_by, reason="created")
    if members is not None:
        brand.members.set(members)
    return brand


@transaction.atomic
def brand_update(
    *,
    brand: Brand,
    members: Iterable[Account] | None = None,
    updated_by: User | None = None,
    expected_version: int | None = None,
    **fields: Any,
) -> Brand:
    """Edit a brand; ``members`` (when given) replaces who serves it. Who serves a brand changes
    what they see, never what is suggested, so only the brand's own fields announce a change.
    Only someone who serves every brand changes who serves one: a member who left their only
    brand would otherwise see every brand. Raises StaleVersion when ``expected_version`` is not
    the stored one."""
    _lock(brand, expected_version)
    _check_serves(updated_by, brand)
    members_change = members is not None and set(members) != set(brand.members.all())
    if members_change:
        _check_serves(updated_by, None)
    changed = _assign(brand, fields, BRAND_FIELDS)
    if changed or members_change:
        _save(
            brand, user=updated_by, reason="edited " + ", ".join([*changed, *(["members"] * members_change)])
        )
    if changed:
        library_announce_change(brand.issues.values_list("id", flat=True))
    if members_change and members is not None:
        brand.members.set(members)
    return brand


@transaction.atomic
def brand_delete(
    *, brand: Brand, deleted_by: User | None = None, expected_version: int | None = None
) -> None:
    """Delete a brand nothing refers to any more (its history stays). Only someone who serves
    every brand deletes one: a member who deleted their only brand would then see every brand.
    Raises LibraryConflict while issues, mentions or anything else still name it."""
    _lock(brand, expected_version)
    _check_serves(deleted_by, None)
    if brand.issues.exists():
        raise LibraryConflict(
            f"Brand {brand.key!r} still has issues; retire or move them first.", code="in_use"
        )
    if _real(deleted_by) is not None:
        brand._history_user = deleted_by  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            brand.delete()
    except (ProtectedError, RestrictedError) as exc:
        kinds = sorted({str(row._meta.verbose_name_plural) for row in exc.args[1]})
        raise LibraryConflict(
            f"Brand {brand.key!r} still has {', '.join(kinds)}; it stays.", code="in_use"
        ) from None


# ---- issues -----------------------------------------------------------------------------------


@transaction.atomic
def issue_create(
    *,
    key: str,
    title: str,
    brand: Brand | None = None,
    description: str = "",
    tags: Iterable[str] = (),
    private_channel: bool = False,
    severity: str = Issue.Severity.NORMAL,
    department: Department | None = None,
    created_by: User | None = None,
) -> Issue:
    _check_serves(created_by, brand)
    issue = Issue(
        key=key,
        brand=brand,
        title=title,
        description=description,
        private_channel=private_channel,
        severity=severity,
        department=department,
        created_by=_real(created_by),
    )
    _save(issue, user=created_by, reason="created")
    issue_set_tags(issue=issue, tags=tags)
    library_announce_change([issue.pk])
    return issue


@transaction.atomic
def issue_update(
    *,
    issue: Issue,
    updated_by: User | None = None,
    tags: Iterable[str] | None = None,
    expected_version: int | None = None,
    **fields: Any,
) -> Issue:
    """Change an issue's fields (and, when given, its tags). Unchanged values write nothing.
    Raises StaleVersion when ``expected_version`` is not the stored one."""
    _lock(issue, expected_version)
    _check_serves(updated_by, issue.brand)
    changed = _assign(issue, fields, ISSUE_FIELDS)
    _check_serves(updated_by, issue.brand)  # moved to another brand
    if changed:
        _save(issue, user=updated_by, reason="edited " + ", ".join(changed))
    if _real(updated_by) is not None:
        # The history row a tag change writes (through m2m_changed) must name who made it.
        issue._history_user = updated_by  # type: ignore[attr-defined]
    if (
        tags is not None
        and not changed
        and _tag_names(tags) != set(issue.tags.values_list("name", flat=True))
    ):
        # Tags alone: count the version before the history row the tag change writes.
        issue.version += 1
        Issue.objects.filter(pk=issue.pk).update(version=issue.version, updated_at=timezone.now())
    if tags is not None and issue_set_tags(issue=issue, tags=tags):
        changed.append("tags")
    if changed:
        library_announce_change([issue.pk])
    return issue


def issue_retire(
    *, issue: Issue, retired_by: User | None = None, expected_version: int | None = None
) -> Issue:
    """Retire an issue: it stays in the library, with its history, but is never suggested."""
    return issue_update(
        issue=issue, updated_by=retired_by, expected_version=expected_version, is_active=False
    )


def issue_restore(
    *, issue: Issue, restored_by: User | None = None, expected_version: int | None = None
) -> Issue:
    return issue_update(
        issue=issue, updated_by=restored_by, expected_version=expected_version, is_active=True
    )


def issue_set_tags(*, issue: Issue, tags: Iterable[str]) -> bool:
    """Make the issue's tags exactly `tags`; returns whether anything changed."""
    wanted = _tag_names(tags)
    current = set(issue.tags.values_list("name", flat=True))
    if wanted == current:
        return False
    issue._change_reason = "edited tags"  # type: ignore[attr-defined]
    issue.tags.set([Tag.objects.get_or_create(name=name)[0] for name in sorted(wanted)])
    return True


def _tag_names(tags: Iterable[str]) -> set[str]:
    """Tag names as they are stored; ValidationError naming `tags` for one that is not a slug."""
    wanted = {name.strip().lower() for name in tags if name.strip()}
    for name in wanted:
        try:
            validate_slug(name)
        except ValidationError:
            message = f"'{name}' is not a valid tag (letters, digits, - and _)."
            raise ValidationError({"tags": message}) from None
    return wanted


# ---- examples ---------------------------------------------------------------------------------


def example_create(
    *,
    issue: Issue,
    text: str,
    source: str = Example.Source.EDITOR,
    status: str = Example.Status.ACTIVE,
    created_by: User | None = None,
) -> Example:
    _check_serves(created_by, issue.brand)
    example = Example(
        issue=issue, text=text.strip(), source=source, status=status, created_by=_real(created_by)
    )
    _save(example, user=created_by, reason="created")
    library_announce_change([issue.pk])
    return example


def example_propose(*, issue: Issue, text: str, proposed_by: User | None = None) -> Example:
    """A phrasing learned from a mention, pending until an editor activates it. Nothing is
    searched while pending, so the index is not told. Returns the issue's existing example when
    it already has this text, whatever its status (an editor's retirement stands)."""
    text = text.strip()
    existing = Example.objects.filter(issue=issue, text=text).first()
    if existing is not None:
        return existing
    example = Example(
        issue=issue,
        text=text,
        source=Example.Source.LEARNED,
        status=Example.Status.PENDING,
        created_by=_real(proposed_by),
    )
    _save(example, user=proposed_by, reason="proposed from an answered mention")
    return example


@transaction.atomic
def example_update(
    *, example: Example, updated_by: User | None = None, expected_version: int | None = None, **fields: Any
) -> Example:
    """Edit an example. Raises StaleVersion when ``expected_version`` is not the stored one."""
    _lock(example, expected_version)
    previous_issue_id = example.issue_id
    _check_serves(updated_by, example.issue.brand)
    if "text" in fields:
        fields["text"] = fields["text"].strip()
    changed = _assign(example, fields, EXAMPLE_FIELDS)
    _check_serves(updated_by, example.issue.brand)  # moved to another issue
    if changed:
        _save(example, user=updated_by, reason="edited " + ", ".join(changed))
        library_announce_change({previous_issue_id, example.issue_id})
    return example


def example_retire(
    *, example: Example, retired_by: User | None = None, expected_version: int | None = None
) -> Example:
    return example_update(
        example=example,
        updated_by=retired_by,
        expected_version=expected_version,
        status=Example.Status.RETIRED,
    )


# ---- responses --------------------------------------------------------------------------------


def response_create(
    *,
    issue: Issue,
    key: str,
    text: str,
    channel: str = "any",
    language: str = "en",
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    status: str = Status.DRAFT,
    created_by: User | None = None,
) -> Response:
    """Create a response, as a draft or in review: like any other, it is approved only after a
    review. Only the command line (no user: fixtures, a reviewed library file) puts a new
    response straight into another status."""
    if created_by is not None and status not in CREATE_STATUSES:
        raise ValidationError(
            {
                "status": f"{key}: a new response starts as a draft or in review; create it, "
                "then submit it for review and approve it."
            },
            code="invalid_transition",
        )
    _check_serves(created_by, issue.brand)
    response = Response(
        issue=issue,
        key=key,
        text=text,
        channel=channel,
        language=language,
        valid_from=valid_from,
        valid_until=valid_until,
        created_by=_real(created_by),
    )
    if status == Status.APPROVED:
        _check_approval(response, created_by)
        _mark_approved(response, created_by)
    response.status = status
    _save(response, user=created_by, reason="created")
    library_announce_change([issue.pk])
    return response


@transaction.atomic
def response_update(
    *,
    response: Response,
    updated_by: User | None = None,
    status: str | None = None,
    expected_version: int | None = None,
    **fields: Any,
) -> Response:
    """Edit a response and, when `status` is given, move it through the lifecycle.

    Editing the content of an approved response sends it back to review unless the editor may
    approve it, so agents are never shown words no editor has read. The row is re-read under a
    lock first: an edit racing a retirement leaves it retired. Raises StaleVersion when
    ``expected_version`` is not the stored one.
    """
    _lock(response, expected_version)
    if status == response.status:
        # A client sending the whole object back restates the status; that is no status change.
        status = None
    previous_issue_id = response.issue_id
    _check_serves(updated_by, response.issue.brand)
    with library_batch():
        changed = _assign(response, fields, RESPONSE_CONTENT_FIELDS)
        _check_serves(updated_by, response.issue.brand)  # moved to another issue
        if changed and response.status == Status.APPROVED and status is None:
            if can_approve(updated_by):
                _check_approval(response, updated_by)
                _mark_approved(response, updated_by)
            else:
                response.status = Status.IN_REVIEW
        if changed:
            _save(response, user=updated_by, reason="edited " + ", ".join(changed))
            library_announce_change({previous_issue_id, response.issue_id})
        if status is not None and status != response.status:
            response_transition(response=response, to_status=status, user=updated_by)
    return response


@transaction.atomic
def response_transition(
    *, response: Response, to_status: str, user: User | None = None, expected_version: int | None = None
) -> Response:
    """Move a response one step through draft -> in_review -> approved -> retired.

    The step is decided from the row as stored, re-read under a lock, never from a copy read
    earlier. Raises ValidationError for a step the lifecycle does not have (a retired response
    never becomes approved without review), PermissionDenied when a non-editor approves and
    StaleVersion when ``expected_version`` is not the stored one.
    """
    _lock(response, expected_version)
    step = TRANSITIONS.get((response.status, to_status))
    if to_status not in Status.values:
        raise ValidationError(
            {"status": f"{response.key}: {to_status!r} is not a status ({', '.join(Status.values)})."},
            code="invalid_choice",
        )
    if step is None:
        raise ValidationError(
            {
                "status": f"{response.key}: cannot go from {Status(response.status).label.lower()} "
                f"to {Status(to_status).label.lower()}."
                + (" Submit it for review first." if to_status == Status.APPROVED else "")
            },
            code="invalid_transition",
        )
    _check_serves(user, response.issue.brand)
    if to_status == Status.APPROVED:
        _check_approval(response, user)
        _mark_approved(response, user)
    response.status = to_status
    _save(response, user=user, reason=step)
    library_announce_change([response.issue_id])
    return response


@transaction.atomic
def response_set_status(*, response: Response, to_status: str, user: User | None = None) -> Response:
    """Put a response straight into a status, as a reviewed library file does. Approval still
    takes an editor and a reply that fits, and a retired response never goes straight back to
    approved."""
    _lock(response, None)
    if to_status == Status.APPROVED and response.status == Status.RETIRED:
        raise ValidationError(
            {
                "status": f"{response.key}: a retired response goes through review "
                "before it is approved again."
            },
            code="invalid_transition",
        )
    if to_status == response.status:
        return response
    if to_status == Status.APPROVED:
        _check_approval(response, user)
        _mark_approved(response, user)
    response.status = to_status
    _save(response, user=user, reason=f"set to {to_status} by import")
    library_announce_change([response.issue_id])
    return response


def response_submit(
    *, response: Response, user: User | None = None, expected_version: int | None = None
) -> Response:
    return response_transition(
        response=response, to_status=Status.IN_REVIEW, user=user, expected_version=expected_version
    )


def response_approve(
    *, response: Response, approved_by: User | None = None, expected_version: int | None = None
) -> Response:
    return response_transition(
        response=response, to_status=Status.APPROVED, user=approved_by, expected_version=expected_version
    )


def response_withdraw(
    *, response: Response, withdrawn_by: User | None = None, expected_version: int | None = None
) -> Response:
    """Take an approved (or in review) response back to draft."""
    return response_transition(
        response=response, to_status=Status.DRAFT, user=withdrawn_by, expected_version=expected_version
    )


def response_retire(
    *, response: Response, retired_by: User | None = None, expected_version: int | None = None
) -> Response:
    return response_transition(
        response=response, to_status=Status.RETIRED, user=retired_by, expected_version=expected_version
    )


def response_revert(
    *,
    response: Response,
    history_id: int,
    reverted_by: User | None = None,
    expected_version: int | None = None,
) -> Response:
    """Bring back the content a response had in an earlier version. Its status is not reverted:
    the lifecycle decides that, as for any other edit."""
    version = response.history.get(history_id=history_id)
    content = {field: getattr(version.instance, field) for field in RESPONSE_CONTENT_FIELDS}
    return response_update(
        response=response, updated_by=reverted_by, expected_version=expected_version, **content
    )


# ---- helpers ----------------------------------------------------------------------------------


def _check_serves(user: User | None, brand: Brand | None) -> None:
    """Someone who serves particular brands changes only their library (not another brand's, nor
    what every brand shares); everyone else, and the system itself, changes anything."""
    if not may_edit_for(_real(user), brand):
        served = ", ".join(sorted(item.key for item in brands_served_by(user) or []))
        whose = f"brand {brand.key!r}" if brand else "every brand"
        raise PermissionDenied(f"The library of {whose} is not yours to change: you serve {served}.")


def _check_approval(response: Response, user: User | None) -> None:
    if not can_approve(user):
        raise PermissionDenied(f"{response.key}: only editors may approve responses.")
    response.full_clean()
    rendered = render_reply(response.text, SAMPLE_CONTEXT, response.channel)
    if not rendered.fits_channel:
        raise ValidationError(
            {
                "text": f"{response.key}: {rendered.length} characters with a sample customer, over the "
                f"{rendered.limit} that {response.get_channel_display()} allows."
            },
            code="too_long",
        )


def _mark_approved(response: Response, user: User | None) -> None:
    response.approved_by = _real(user)
    response.approved_at = timezone.now()


def _assign(instance: models.Model, fields: dict[str, Any], allowed: tuple[str, ...]) -> list[str]:
    """Set the given fields, returning the names whose values actually changed."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"{type(instance).__name__} has no editable field(s): {', '.join(sorted(unknown))}")
    changed = []
    for name, value in fields.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed.append(name)
    return changed


def _save(instance: models.Model, *, user: User | None, reason: str) -> None:
    instance.full_clean()
    if not instance._state.adding:
        instance.version += 1  # type: ignore[attr-defined]
    if _real(user) is not None:
        instance._history_user = user  # type: ignore[attr-defined]
    instance._change_reason = reason  # type: ignore[attr-defined]
    instance.save()


def _real(user: User | None) -> Account | None:
    return user if isinstance(user, Account) else None
