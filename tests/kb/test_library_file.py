"""The library file: import as one atomic upsert by key, export back, and the two commands."""

from __future__ import annotations

import copy
import json
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from kb import services
from kb.library_file import (
    FORMAT,
    LibraryFileError,
    library_dumps,
    library_export,
    library_import,
    library_parse,
)
from kb.models import Brand, Example, Issue, Response, Tag
from tests.factories import ResponseFactory

DM_TEXT = (
    '{{ customer_name|default:"Hi there" }}, so sorry about the cancellation. Please DM us your '
    "confirmation code and we'll rebook you right away. ^{{ agent_initials }}"
)
LIBRARY: dict[str, Any] = {
    "format": FORMAT,
    "brands": [
        {"key": "acme-air", "name": "Acme Air", "handle": "@AcmeAir"},
        {"key": "zed-rail", "name": "Zed Rail", "handle": "@ZedRail"},
    ],
    "issues": [
        {
            "key": "cancelled-flight",
            "brand": "acme-air",
            "title": "Flight cancelled, customer needs rebooking",
            "description": "Internal handling notes for agents.",
            "tags": ["irregular-ops", "rebooking"],
            "private_channel": True,
            "examples": [
                "my flight got cancelled and nobody at the gate can rebook me",
                "cancelled AGAIN. what now??",
            ],
            "responses": [
                {"key": "cancelled-flight-dm", "channel": "twitter", "status": "approved", "text": DM_TEXT},
                {
                    "key": "cancelled-flight-email",
                    "channel": "email",
                    "status": "draft",
                    "text": "Dear {{ customer_name }}, we are sorry. {{ agent_name }}, {{ brand_name }}",
                    "language": "en-GB",
                    "valid_from": "2025-01-01T00:00:00+00:00",
                    "valid_until": "2031-01-01T09:30:00+00:00",
                },
            ],
        },
        {
            "key": "lost-bag",
            "title": "Bag did not arrive",
            "examples": ["my bag never showed up on the belt"],
            "responses": [
                {
                    "key": "lost-bag-reply",
                    "status": "in_review",
                    "text": "Sorry! Please DM us your tag number.",
                }
            ],
        },
        {
            "key": "old-promo",
            "brand": "zed-rail",
            "title": "A promotion that ended",
            "active": False,
            "examples": [],
            "responses": [{"key": "old-promo-reply", "status": "retired", "text": "That offer has ended."}],
        },
    ],
}


def _library() -> dict[str, Any]:
    return copy.deepcopy(LIBRARY)


def _issue(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(issue for issue in data["issues"] if issue["key"] == key)


def _response(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(r for issue in data["issues"] for r in issue.get("responses", []) if r["key"] == key)


def _row_counts() -> dict[str, int]:
    """Rows in every table of the library: its models, their history, tags and the tag links."""
    models = apps.get_app_config("kb").get_models(include_auto_created=True)
    return {model._meta.label: model._default_manager.count() for model in models}


def _history_rows() -> int:
    return sum(count for label, count in _row_counts().items() if "Historical" in label)


def _snapshot() -> tuple[dict[str, int], str]:
    return _row_counts(), library_dumps(library_export())


def _errors_of(data: Any, user) -> list[str]:
    with pytest.raises(LibraryFileError) as caught:
        library_import(data=data, user=user)
    return caught.value.errors


@pytest.fixture
def imported(editor):
    """The library above, imported by an editor."""
    library_import(data=_library(), user=editor)


# ---- importing ------------------------------------------------------------------------------------


def test_import_creates_brands_issues_examples_and_responses(editor):
    report = library_import(data=_library(), user=editor)

    assert report.changed
    assert list(Brand.objects.values_list("key", "name", "handle")) == [
        ("acme-air", "Acme Air", "@AcmeAir"),
        ("zed-rail", "Zed Rail", "@ZedRail"),
    ]
    cancelled = Issue.objects.get(key="cancelled-flight")
    assert cancelled.brand.key == "acme-air"
    assert cancelled.title == "Flight cancelled, customer needs rebooking"
    assert cancelled.description == "Internal handling notes for agents."
    assert cancelled.private_channel is True
    assert sorted(cancelled.tags.values_list("name", flat=True)) == ["irregular-ops", "rebooking"]
    assert list(cancelled.examples.values_list("text", "status")) == [
        ("my flight got cancelled and nobody at the gate can rebook me", "active"),
        ("cancelled AGAIN. what now??", "active"),
    ]
    assert Issue.objects.get(key="lost-bag").brand is None
    assert Issue.objects.get(key="old-promo").is_active is False


def test_import_gives_responses_their_status_and_fields(editor):
    library_import(data=_library(), user=editor)

    dm = Response.objects.get(key="cancelled-flight-dm")
    assert (dm.issue.key, dm.channel, dm.status, dm.text, dm.language) == (
        "cancelled-flight",
        "twitter",
        "approved",
        DM_TEXT,
        "en",
    )
    assert dm.approved_by == editor
    assert dm.is_live
    email = Response.objects.get(key="cancelled-flight-email")
    assert (email.status, email.language) == ("draft", "en-GB")
    assert email.valid_from.isoformat() == "2025-01-01T00:00:00+00:00"
    assert email.valid_until.isoformat() == "2031-01-01T09:30:00+00:00"
    lost = Response.objects.get(key="lost-bag-reply")
    assert (lost.channel, lost.status) == ("any", "in_review")  # channel defaults to any
    assert Response.objects.get(key="old-promo-reply").status == "retired"


def test_import_records_the_importing_user_in_history(editor):
    library_import(data=_library(), user=editor)

    assert Response.objects.get(key="cancelled-flight-dm").history.first().history_user == editor
    assert Issue.objects.get(key="lost-bag").history.first().history_user == editor


def test_import_announces_once_for_the_whole_file(editor, announcements, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        library_import(data=_library(), user=editor)

    assert announcements == [frozenset(Issue.objects.values_list("pk", flat=True))]


def test_importing_an_unchanged_file_announces_nothing(
    editor, imported, announcements, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        library_import(data=_library(), user=editor)

    assert announcements == []


def test_importing_twice_changes_nothing(editor, imported):
    counts = _row_counts()

    report = library_import(data=_library(), user=editor)

    assert not report.changed
    assert report.summary() == "Library is up to date: nothing to change."
    assert _row_counts() == counts


def test_importing_twice_changes_nothing_even_with_tags_in_capitals(editor):
    data = _library()
    _issue(data, "cancelled-flight")["tags"] = ["Irregular-Ops", "rebooking"]
    library_import(data=data, user=editor)
    history = _history_rows()

    report = library_import(data=data, user=editor)

    assert report.changes == []
    assert _history_rows() == history


def test_importing_twice_changes_nothing_with_padded_examples(editor):
    data = _library()
    _issue(data, "lost-bag")["examples"] = ["  my bag never showed up on the belt  "]
    library_import(data=data, user=editor)
    counts = _row_counts()

    assert not library_import(data=data, user=editor).changed
    assert _row_counts() == counts


def test_import_updates_what_changed_and_reports_it(editor, imported):
    data = _library()
    _issue(data, "lost-bag")["title"] = "Bag lost on arrival"
    _response(data, "lost-bag-reply")["text"] = "So sorry! Please DM us your bag tag number."

    report = library_import(data=data, user=editor)

    assert Issue.objects.get(key="lost-bag").title == "Bag lost on arrival"
    assert Response.objects.get(key="lost-bag-reply").text == "So sorry! Please DM us your bag tag number."
    assert report.changes == ["~ issue lost-bag: title", "~ response lost-bag-reply: text"]


def test_import_moves_a_response_to_the_issue_the_file_names(editor, imported):
    data = _library()
    moved = _issue(data, "lost-bag")["responses"].pop()
    _issue(data, "cancelled-flight")["responses"].append(moved)

    library_import(data=data, user=editor)

    assert Response.objects.get(key="lost-bag-reply").issue.key == "cancelled-flight"


def test_import_can_approve_a_response_in_review(editor, imported):
    data = _library()
    _response(data, "lost-bag-reply")["status"] = "approved"

    library_import(data=data, user=editor)

    assert Response.objects.get(key="lost-bag-reply").status == "approved"


def test_a_file_may_withdraw_an_approved_response_to_draft_while_rewriting_it(editor, imported):
    # Too long to approve for Twitter, which is why the file takes it back to draft.
    data = _library()
    _response(data, "cancelled-flight-dm").update(status="draft", text="So sorry. " * 30)

    report = library_import(data=data, user=editor)

    stored = Response.objects.get(key="cancelled-flight-dm")
    assert (stored.status, stored.text) == ("draft", "So sorry. " * 30)
    assert "~ response cancelled-flight-dm: approved -> draft" in report.changes
    assert not stored.history.filter(status="approved", text="So sorry. " * 30).exists()


def test_a_retired_response_named_as_approved_stays_retired_and_is_flagged(editor, imported):
    services.response_retire(response=Response.objects.get(key="cancelled-flight-dm"), retired_by=editor)

    first = library_import(data=_library(), user=editor)
    second = library_import(data=_library(), user=editor)

    stored = Response.objects.get(key="cancelled-flight-dm")
    assert stored.status == "retired"
    assert not first.changed and not second.changed  # importing twice changes nothing
    assert any("cancelled-flight-dm" in line and "review" in line for line in first.notices)
    assert "cancelled-flight-dm" in second.summary()


def test_set_status_never_takes_a_retired_response_straight_to_approved(editor):
    response = ResponseFactory(status="retired")
    with pytest.raises(ValidationError):
        services.response_set_status(response=response, to_status="approved", user=editor)
    response.refresh_from_db()
    assert response.status == "retired"


def test_import_reactivates_a_retired_example_the_file_names_again(editor, imported):
    example = Example.objects.get(text="my bag never showed up on the belt")
    services.example_retire(example=example, retired_by=editor)

    library_import(data=_library(), user=editor)

    assert Example.objects.get(pk=example.pk).status == "active"


def test_import_by_a_user_who_may_not_approve_is_refused(author, editor):
    library_import(data=_library(), user=editor)
    before = _snapshot()
    data = _library()
    _issue(data, "lost-bag")["title"] = "Changed by an author"

    with pytest.raises(PermissionDenied):
        library_import(data=data, user=author)

    assert _snapshot() == before


def test_import_by_an_agent_is_refused_even_for_drafts(agent):
    data = {"format": FORMAT, "issues": [{"key": "x", "title": "X", "responses": []}]}

    with pytest.raises(PermissionDenied):
        library_import(data=data, user=agent)

    assert not Issue.objects.exists()


# ---- dry run and prune ----------------------------------------------------------------------------


def test_dry_run_reports_the_changes_and_writes_nothing(
    editor, announcements, django_capture_on_commit_callbacks
):
    before = _row_counts()

    with django_capture_on_commit_callbacks(execute=True):
        report = library_import(data=_library(), dry_run=True, user=editor)

    assert "+ issue cancelled-flight" in report.changes
    assert "+ response cancelled-flight-dm (approved)" in report.changes
    assert "+ brand acme-air" in report.changes
    assert report.summary().startswith(f"{len(report.changes)} change(s) would be made")
    assert _row_counts() == before
    assert announcements == []


def test_dry_run_of_an_update_leaves_the_old_values(editor, imported):
    before = _snapshot()
    data = _library()
    _issue(data, "lost-bag")["title"] = "New title"

    report = library_import(data=data, dry_run=True, user=editor)

    assert report.changes == ["~ issue lost-bag: title"]
    assert _snapshot() == before


def test_prune_retires_what_the_file_no_longer_names_and_deletes_nothing(editor, imported):
    before = _row_counts()
    data = _library()
    data["issues"] = [issue for issue in data["issues"] if issue["key"] != "lost-bag"]
    cancelled = _issue(data, "cancelled-flight")
    cancelled["examples"] = cancelled["examples"][:1]
    cancelled["responses"] = [r for r in cancelled["responses"] if r["key"] != "cancelled-flight-email"]

    report = library_import(data=data, prune=True, user=editor)

    assert Issue.objects.get(key="lost-bag").is_active is False
    assert Response.objects.get(key="lost-bag-reply").status == "retired"
    assert Response.objects.get(key="cancelled-flight-email").status == "retired"
    assert Example.objects.get(text="cancelled AGAIN. what now??").status == "retired"
    assert Response.objects.get(key="cancelled-flight-dm").status == "approved"
    assert Issue.objects.get(key="cancelled-flight").is_active is True
    for model in (Brand, Issue, Example, Response, Tag):
        assert model.objects.count() == before[model._meta.label]
    assert "- issue lost-bag retired" in report.changes
    assert "- response cancelled-flight-email retired" in report.changes


def test_without_prune_what_the_file_no_longer_names_is_left_alone(editor, imported):
    data = _library()
    data["issues"] = [issue for issue in data["issues"] if issue["key"] != "lost-bag"]
    _issue(data, "cancelled-flight")["examples"] = []

    report = library_import(data=data, user=editor)

    assert not report.changed
    assert Issue.objects.get(key="lost-bag").is_active is True
    assert Response.objects.get(key="lost-bag-reply").status == "in_review"
    assert Example.objects.filter(status="active").count() == 3


def test_pruning_twice_changes_nothing_the_second_time(editor, imported):
    data = _library()
    data["issues"] = data["issues"][:1]
    library_import(data=data, prune=True, user=editor)
    counts = _row_counts()

    assert not library_import(data=data, prune=True, user=editor).changed
    assert _row_counts() == counts


def test_a_pruned_issue_named_again_comes_back(editor, imported):
    data = _library()
    library_import(data={**data, "issues": data["issues"][:1]}, prune=True, user=editor)

    library_import(data=data, user=editor)

    assert Issue.objects.get(key="lost-bag").is_active is True


# ---- export ---------------------------------------------------------------------------------------


def test_export_writes_the_library_in_the_file_format(imported):
    exported = library_export()

    assert exported["format"] == FORMAT
    assert [brand["key"] for brand in exported["brands"]] == ["acme-air", "zed-rail"]
    cancelled = exported["issues"][0]
    assert cancelled == {
        "key": "cancelled-flight",
        "brand": "acme-air",
        "title": "Flight cancelled, customer needs rebooking",
        "description": "Internal handling notes for agents.",
        "tags": ["irregular-ops", "rebooking"],
        "private_channel": True,
        "examples": [
            "my flight got cancelled and nobody at the gate can rebook me",
            "cancelled AGAIN. what now??",
        ],
        "responses": [
            {
                "key": "cancelled-flight-dm",
                "channel": "twitter",
                "status": "approved",
                "text": DM_TEXT,
                "language": "en",
            },
            {
                "key": "cancelled-flight-email",
                "channel": "email",
                "status": "draft",
                "text": "Dear {{ customer_name }}, we are sorry. {{ agent_name }}, {{ brand_name }}",
                "language": "en-GB",
                "valid_from": "2025-01-01T00:00:00+00:00",
                "valid_until": "2031-01-01T09:30:00+00:00",
            },
        ],
    }
    assert "brand" not in _issue(exported, "lost-bag")
    assert _issue(exported, "old-promo")["active"] is False
    assert "active" not in cancelled


def test_export_leaves_out_retired_examples(editor, imported):
    services.example_retire(
        example=Example.objects.get(text="cancelled AGAIN. what now??"), retired_by=editor
    )

    assert _issue(library_export(), "cancelled-flight")["examples"] == [
        "my flight got cancelled and nobody at the gate can rebook me"
    ]


def test_export_then_import_into_an_empty_library_then_export_is_identical(editor, imported):
    services.example_create(
        issue=Issue.objects.get(key="lost-bag"), text="bag gone 😡 where is it", created_by=editor
    )
    first = library_dumps(library_export())

    # Empty the library (history rows may stay) and import the export back.
    Example.objects.all().delete()
    Response.objects.all().delete()
    Issue.tags.through.objects.all().delete()
    Issue.objects.all().delete()
    Tag.objects.all().delete()
    Brand.objects.all().delete()
    assert library_dumps(library_export()) != first

    library_import(data=library_parse(first), user=editor)

    assert library_dumps(library_export()) == first


def test_export_is_repeatable(imported):
    assert library_dumps(library_export()) == library_dumps(library_export())


def test_exported_file_imports_back_without_changes(editor, imported):
    exported = library_parse(library_dumps(library_export()))

    assert not library_import(data=exported, user=editor).changed


# ---- rejected files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("{not json", "not valid JSON"),
        (b'{"format": "caf\xe9"}', "not UTF-8"),
        ("[1, 2]", "must be a JSON object"),
        ('"careline-library/1"', "must be a JSON object"),
    ],
)
def test_a_file_that_is_not_a_json_object_is_refused(raw, expected):
    with pytest.raises(LibraryFileError) as caught:
        library_parse(raw)

    assert expected in str(caught.value)


def _without(entry: dict[str, Any], name: str) -> None:
    del entry[name]


BAD_FILES = [
    # (what is wrong, how to break the library, where the message points)
    ("wrong format", lambda d: d.update(format="careline-library/2"), "file: format"),
    ("no format", lambda d: _without(d, "format"), "file: format: required"),
    ("unknown top-level field", lambda d: d.update(version=2), "file: version: unknown field"),
    ("brands not a list", lambda d: d.update(brands={"acme-air": {}}), "file: brands"),
    ("brand not an object", lambda d: d["brands"].append("acme"), "brands[2]: must be an object"),
    (
        "brand without handle",
        lambda d: _without(d["brands"][0], "handle"),
        "brands[0] 'acme-air': handle: required",
    ),
    ("brand without key", lambda d: _without(d["brands"][1], "key"), "brands[1]: key: required"),
    (
        "issue without title",
        lambda d: _without(d["issues"][1], "title"),
        "issues[1] 'lost-bag': title: required",
    ),
    ("empty title", lambda d: d["issues"][1].update(title="  "), "issues[1] 'lost-bag': title"),
    (
        "response without text",
        lambda d: _without(d["issues"][1]["responses"][0], "text"),
        "issues[1] 'lost-bag': responses[0] 'lost-bag-reply': text: required",
    ),
    (
        "unknown issue field",
        lambda d: d["issues"][1].update(owner="sam"),
        "issues[1] 'lost-bag': owner: unknown",
    ),
    (
        "unknown response field",
        lambda d: d["issues"][1]["responses"][0].update(score=1),
        "responses[0] 'lost-bag-reply': score: unknown",
    ),
    ("title not a string", lambda d: d["issues"][1].update(title=5), "issues[1] 'lost-bag': title"),
    (
        "private_channel not a boolean",
        lambda d: d["issues"][0].update(private_channel="yes"),
        "issues[0] 'cancelled-flight': private_channel",
    ),
    ("tags not a list", lambda d: d["issues"][0].update(tags="ops"), "issues[0] 'cancelled-flight': tags"),
    ("tags a number", lambda d: d["issues"][0].update(tags=5), "issues[0] 'cancelled-flight': tags"),
    ("tags null", lambda d: d["issues"][0].update(tags=None), "issues[0] 'cancelled-flight': tags"),
    (
        "tag not a string",
        lambda d: d["issues"][0].update(tags=["ops", 7]),
        "issues[0] 'cancelled-flight': tags",
    ),
    (
        "tag not a slug",
        lambda d: d["issues"][0].update(tags=["irregular ops!"]),
        "issues[0] 'cancelled-flight': tags",
    ),
    (
        "examples not a list",
        lambda d: d["issues"][1].update(examples="lost"),
        "issues[1] 'lost-bag': examples",
    ),
    (
        "responses not a list",
        lambda d: d["issues"][1].update(responses={}),
        "issues[1] 'lost-bag': responses",
    ),
    (
        "response not an object",
        lambda d: d["issues"][1]["responses"].append("hi"),
        "issues[1] 'lost-bag': responses[1]: must be an object",
    ),
    (
        "valid_from a number",
        lambda d: d["issues"][1]["responses"][0].update(valid_from=2025),
        "responses[0] 'lost-bag-reply': valid_from",
    ),
    ("active not a boolean", lambda d: d["issues"][2].update(active="no"), "issues[2] 'old-promo': active"),
    (
        "duplicate brand",
        lambda d: d["brands"].append({"key": "acme-air", "name": "Other", "handle": "@Other"}),
        "brands[2] 'acme-air': key: brand 'acme-air' appears more than once",
    ),
    (
        "duplicate issue",
        lambda d: d["issues"].append({"key": "lost-bag", "title": "Again"}),
        "issues[3] 'lost-bag': key: issue 'lost-bag' appears more than once",
    ),
    (
        "duplicate response key across issues",
        lambda d: d["issues"][2]["responses"].append({"key": "lost-bag-reply", "text": "Hi"}),
        "issues[2] 'old-promo': responses[1] 'lost-bag-reply': key: response 'lost-bag-reply' appears more",
    ),
    (
        "example over the model's limit",
        lambda d: d["issues"][1]["examples"].append("x" * 1001),
        "issues[1] 'lost-bag': examples[1]: 1,001 characters, over the 1,000 allowed",
    ),
    (
        "response text over the model's limit",
        lambda d: d["issues"][1]["responses"][0].update(text="x" * 5001),
        "issues[1] 'lost-bag': responses[0] 'lost-bag-reply': text: 5,001 characters, over the 5,000",
    ),
    (
        "NUL in a response text",
        lambda d: d["issues"][1]["responses"][0].update(text="Sorry\u0000!"),
        "issues[1] 'lost-bag': responses[0] 'lost-bag-reply': text: contains a NUL character",
    ),
    (
        "NUL in an example",
        lambda d: d["issues"][1]["examples"].append("my bag\u0000"),
        "issues[1] 'lost-bag': examples[1]: contains a NUL character",
    ),
    (
        "NUL in a brand name",
        lambda d: d["brands"][0].update(name="Acme\u0000Air"),
        "brands[0] 'acme-air': name: contains a NUL character",
    ),
    (
        "lone surrogate in a title",
        lambda d: d["issues"][1].update(title="Bag \ud83d lost"),
        "issues[1] 'lost-bag': title: contains a lone surrogate",
    ),
    (
        "lone surrogate in a tag",
        lambda d: d["issues"][0]["tags"].append("\udc00"),
        "issues[0] 'cancelled-flight': tags[2]: contains a lone surrogate",
    ),
    (
        "lone surrogate in a key",
        lambda d: d["issues"][1]["responses"][0].update(key="lost-\ud800"),
        "issues[1] 'lost-bag': responses[0] 'lost-\\ud800': key: contains a lone surrogate",
    ),
    (
        "nesting where a tag should be",
        lambda d: d["issues"][0]["tags"].append(json.loads("[" * 60 + "]" * 60)),
        "issues[0] 'cancelled-flight': tags: nested more than",
    ),
    (
        "template with a filter size out of bounds",
        lambda d: d["issues"][1]["responses"][0].update(text="{{ customer_name|ljust:'300000000' }}"),
        "responses[0] 'lost-bag-reply': text: The filter 'ljust' takes a whole number",
    ),
    (
        "empty example",
        lambda d: d["issues"][1]["examples"].append("   "),
        "issues[1] 'lost-bag': examples[1]: must be",
    ),
    (
        "example not a string",
        lambda d: d["issues"][1]["examples"].append(3),
        "issues[1] 'lost-bag': examples[1]",
    ),
    (
        "unknown brand",
        lambda d: d["issues"][1].update(brand="acme-rail"),
        "issues[1] 'lost-bag': brand: unknown brand 'acme-rail'",
    ),
    (
        "unknown channel",
        lambda d: d["issues"][1]["responses"][0].update(channel="tiktok"),
        "issues[1] 'lost-bag': responses[0] 'lost-bag-reply': channel: 'tiktok' is not one of",
    ),
    (
        "unknown status",
        lambda d: d["issues"][1]["responses"][0].update(status="published"),
        "responses[0] 'lost-bag-reply': status: 'published' is not one of",
    ),
    (
        "bad datetime",
        lambda d: d["issues"][1]["responses"][0].update(valid_from="next tuesday"),
        "responses[0] 'lost-bag-reply': valid_from: 'next tuesday' is not a date-time",
    ),
    (
        "impossible datetime",
        lambda d: d["issues"][1]["responses"][0].update(valid_from="2025-13-45T00:00:00+00:00"),
        "responses[0] 'lost-bag-reply': valid_from",
    ),
    (
        "datetime without time zone",
        lambda d: d["issues"][1]["responses"][0].update(valid_until="2031-01-01T09:30:00"),
        "responses[0] 'lost-bag-reply': valid_until: '2031-01-01T09:30:00' is not a date-time with a time",
    ),
    (
        "valid_until before valid_from",
        lambda d: d["issues"][0]["responses"][1].update(valid_until="2024-01-01T00:00:00+00:00"),
        "responses[1] 'cancelled-flight-email': valid_until: Must be later",
    ),
    (
        "template that does not parse",
        lambda d: d["issues"][1]["responses"][0].update(text="Hi {% if customer_name %}there"),
        "issues[1] 'lost-bag': responses[0] 'lost-bag-reply': text: Template does not parse",
    ),
    (
        "template with a disallowed tag",
        lambda d: d["issues"][1]["responses"][0].update(text="{% load static %}hi"),
        "responses[0] 'lost-bag-reply': text: Template does not parse: the tag 'load' is not allowed",
    ),
    (
        "template with an unknown variable",
        lambda d: d["issues"][1]["responses"][0].update(text="Hi {{ first_name }}"),
        "responses[0] 'lost-bag-reply': text: Unknown template variable: first_name",
    ),
    (
        "approved twitter response too long",
        lambda d: d["issues"][0]["responses"][0].update(text="So sorry. " * 30),
        "issues[0] 'cancelled-flight': responses[0] 'cancelled-flight-dm': text:",
    ),
    ("bad brand handle", lambda d: d["brands"][1].update(handle="Zed Rail"), "brands[1] 'zed-rail': handle:"),
    ("bad issue key", lambda d: d["issues"][1].update(key="Lost Bag"), "issues[1] 'Lost Bag': key:"),
    (
        "bad response key",
        lambda d: d["issues"][1]["responses"][0].update(key="lost bag reply"),
        "responses[0] 'lost bag reply': key:",
    ),
    (
        "bad language tag",
        lambda d: d["issues"][1]["responses"][0].update(language="English"),
        "responses[0] 'lost-bag-reply': language:",
    ),
]


@pytest.mark.parametrize(("problem", "break_it", "where"), BAD_FILES, ids=[case[0] for case in BAD_FILES])
def test_a_bad_file_is_refused_whole_naming_the_entry_and_field(editor, problem, break_it, where):
    data = _library()
    break_it(data)
    before = _snapshot()

    errors = _errors_of(data, editor)

    assert any(where in line for line in errors), errors
    assert _snapshot() == before


@pytest.mark.parametrize(("problem", "break_it", "where"), BAD_FILES, ids=[case[0] for case in BAD_FILES])
def test_a_bad_file_changes_nothing_in_an_existing_library(editor, imported, problem, break_it, where):
    data = _library()
    for issue in data["issues"]:  # changes that must not be applied either
        issue["title"] += " (edited)"
    break_it(data)
    before = _snapshot()

    errors = _errors_of(data, editor)

    assert any(where in line for line in errors), errors
    assert _snapshot() == before


def test_the_approved_too_long_message_gives_the_length_and_the_limit(editor):
    data = _library()
    _response(data, "cancelled-flight-dm")["text"] = "So sorry. " * 30

    (line,) = _errors_of(data, editor)

    assert "280" in line
    assert "Twitter" in line


def test_the_same_long_text_imports_as_a_draft(editor):
    data = _library()
    _response(data, "cancelled-flight-dm").update(text="So sorry. " * 30, status="draft")

    library_import(data=data, user=editor)

    assert Response.objects.get(key="cancelled-flight-dm").status == "draft"


def test_every_problem_in_a_file_is_reported_at_once(editor):
    data = _library()
    _issue(data, "lost-bag")["brand"] = "acme-rail"
    _response(data, "cancelled-flight-dm")["channel"] = "tiktok"
    data["brands"][0]["handle"] = "no handle"

    errors = _errors_of(data, editor)

    assert len(errors) >= 2
    assert any("lost-bag" in line and "brand" in line for line in errors)
    assert any("cancelled-flight-dm" in line and "channel" in line for line in errors)


def test_an_error_in_the_30th_issue_writes_nothing_from_the_first_29(editor):
    issues = [
        {
            "key": f"issue-{number:02d}",
            "title": f"Issue {number}",
            "examples": [f"something is wrong number {number}"],
            "responses": [
                {"key": f"reply-{number:02d}", "status": "approved", "text": "Sorry! Please DM us."}
            ],
        }
        for number in range(1, 31)
    ]
    issues[29]["responses"][0]["text"] = "Sorry {{ full_name }}"
    data = {"format": FORMAT, "brands": [], "issues": issues}
    before = _snapshot()

    errors = _errors_of(data, editor)

    assert errors == [
        "issues[29] 'issue-30': responses[0] 'reply-30': text: Unknown template variable: full_name. "
        "Allowed: customer_name, customer_first_name, handle, agent_name, agent_initials, brand_name, "
        "brand_handle."
    ]
    assert _snapshot() == before
    assert not Issue.objects.exists()


def test_a_refused_file_announces_nothing(editor, announcements, django_capture_on_commit_callbacks):
    data = _library()
    _response(data, "lost-bag-reply")["text"] = "{{ nope }}"

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(LibraryFileError):
        library_import(data=data, user=editor)

    assert announcements == []


def test_minimal_file_with_only_the_format_imports_nothing(editor):
    report = library_import(data={"format": FORMAT}, user=editor)

    assert not report.changed
    assert not Issue.objects.exists()


def test_issue_may_name_a_brand_already_in_the_library(editor, imported):
    data = {"format": FORMAT, "issues": [{"key": "delayed", "brand": "zed-rail", "title": "Train delayed"}]}

    library_import(data=data, user=editor)

    assert Issue.objects.get(key="delayed").brand.key == "zed-rail"


# ---- the management commands ----------------------------------------------------------------------


def _write(tmp_path, data: Any, name: str = "library.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _call(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_import_command_imports_a_file(db, tmp_path):
    path = _write(tmp_path, _library())

    output = _call("import_library", str(path))

    assert "change(s) made" in output
    assert "+ new: 2 brand, 3 issue," in output  # counted by kind
    assert "+ issue cancelled-flight" not in output
    assert Response.objects.get(key="cancelled-flight-dm").status == "approved"
    assert Issue.objects.count() == 3


def test_import_command_lists_every_change_at_verbosity_2(db, tmp_path):
    output = _call("import_library", str(_write(tmp_path, _library())), "-v", "2")

    assert "+ issue cancelled-flight" in output
    assert "+ response cancelled-flight-dm (approved)" in output


def test_import_command_twice_says_nothing_changed(db, tmp_path):
    path = _write(tmp_path, _library())
    _call("import_library", str(path))

    assert "nothing to change" in _call("import_library", str(path))


def test_import_command_dry_run_writes_nothing(db, tmp_path):
    path = _write(tmp_path, _library())
    before = _row_counts()

    output = _call("import_library", str(path), "--dry-run")

    assert output.startswith("Dry run.")
    assert "would be made" in output
    assert "+ response cancelled-flight-dm (approved)" in output
    assert _row_counts() == before


def test_import_command_prune_retires_what_the_file_no_longer_names(db, tmp_path):
    _call("import_library", str(_write(tmp_path, _library())))
    smaller = _library()
    smaller["issues"] = smaller["issues"][:1]

    output = _call("import_library", str(_write(tmp_path, smaller, "smaller.json")), "--prune")

    assert "- issue lost-bag retired" in output
    assert Issue.objects.get(key="lost-bag").is_active is False
    assert Response.objects.get(key="lost-bag-reply").status == "retired"


def test_import_command_if_empty_imports_into_an_empty_library(db, tmp_path):
    _call("import_library", str(_write(tmp_path, _library())), "--if-empty")

    assert Issue.objects.count() == 3


def test_import_command_if_empty_leaves_a_library_with_issues_alone(db, tmp_path):
    _call("import_library", str(_write(tmp_path, _library())))
    changed = _library()
    _issue(changed, "lost-bag")["title"] = "Something else"

    output = _call("import_library", str(_write(tmp_path, changed, "changed.json")), "--if-empty")

    assert "nothing imported" in output
    assert Issue.objects.get(key="lost-bag").title == "Bag did not arrive"


def test_import_command_records_the_named_user(editor, tmp_path):
    _call("import_library", str(_write(tmp_path, _library())), "--user", editor.username)

    assert Issue.objects.get(key="lost-bag").history.first().history_user == editor


def test_import_command_refuses_a_user_who_may_not_approve(author, tmp_path):
    with pytest.raises(PermissionDenied):
        _call("import_library", str(_write(tmp_path, _library())), "--user", author.username)

    assert not Issue.objects.exists()


def test_import_command_refuses_an_unknown_user(db, tmp_path):
    with pytest.raises(CommandError, match="nobody"):
        _call("import_library", str(_write(tmp_path, _library())), "--user", "nobody")


def test_import_command_refuses_a_bad_file_naming_the_entry(db, tmp_path):
    data = _library()
    _response(data, "lost-bag-reply")["channel"] = "tiktok"
    path = _write(tmp_path, data)

    with pytest.raises(CommandError) as caught:
        _call("import_library", str(path))

    message = str(caught.value)
    assert "nothing changed" in message
    assert "issues[1] 'lost-bag': responses[0] 'lost-bag-reply': channel" in message
    assert not Issue.objects.exists()


def test_import_command_refuses_a_file_that_is_not_json(db, tmp_path):
    with pytest.raises(CommandError, match="not valid JSON"):
        _call("import_library", str(_write(tmp_path, "{'format': 1}")))


def test_import_command_refuses_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        _call("import_library", str(tmp_path / "missing.json"))


def test_export_command_writes_a_file(imported, tmp_path):
    path = tmp_path / "out" / "library.json"
    path.parent.mkdir()

    call_command("export_library", str(path), stdout=StringIO(), stderr=StringIO())

    assert path.read_text(encoding="utf-8") == library_dumps(library_export())
    assert [p.name for p in path.parent.iterdir()] == ["library.json"]  # no partial file left


def test_export_command_writes_to_standard_output(imported):
    output = _call("export_library", "-")

    assert output == library_dumps(library_export())
    assert json.loads(output)["format"] == FORMAT


def test_export_command_refuses_a_path_it_cannot_write(imported, tmp_path):
    with pytest.raises(CommandError, match="Cannot write"):
        _call("export_library", str(tmp_path / "no-such-dir" / "library.json"))


def test_commands_round_trip_through_a_file(editor, imported, tmp_path):
    path = tmp_path / "library.json"
    _call("export_library", str(path))

    output = _call("import_library", str(path))

    assert "nothing to change" in output
    assert path.read_text(encoding="utf-8") == _call("export_library", "-")


# ---- what real files hold -------------------------------------------------------------------------


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_template_errors_are_reported_with_structural_ones(editor):
    data = _library()
    _response(data, "cancelled-flight-dm")["channel"] = "tiktok"
    _response(data, "lost-bag-reply")["text"] = "Hi {{ first_name }}"
    _issue(data, "lost-bag")["examples"].append("x" * 2000)

    errors = _errors_of(data, editor)

    assert any("cancelled-flight-dm" in line and "channel" in line for line in errors), errors
    assert any("lost-bag-reply" in line and "first_name" in line for line in errors), errors
    assert any("examples[1]" in line and "2,000 characters" in line for line in errors), errors


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (_deep(100_000), "file: nested more than"),
        (
            '{"format": "careline-library/1", "issues": [{"key": "x", "title": "X", "tags": '
            + _deep(100_000)
            + "}]}",
            "issues[0]: tags: nested more than",
        ),
        (
            '{"format": "careline-library/1", "issues": [{"key": "x", "title": "X", "private_channel": '
            + "1" * 5000
            + "}]}",
            "file: not valid JSON (a number too long",
        ),
        (b'{"format": "careline-library/1", "brands": [\x00]}', "file: not valid JSON"),
        (b'{"format": "careline-library/1", "brands": ["\xed\xa0\x80"]}', "brands[0]: contains a lone"),
    ],
    ids=["deep at the top", "deep in a field", "endless number", "raw NUL", "encoded surrogate"],
)
def test_a_file_that_cannot_be_read_is_refused_saying_where(editor, raw, expected):
    with pytest.raises(LibraryFileError) as caught:
        library_import(data=library_parse(raw), user=editor)

    assert expected in str(caught.value)


def test_an_example_repeated_exactly_or_but_for_spaces_is_merged_with_a_notice(editor):
    data = _library()
    issue = _issue(data, "cancelled-flight")
    issue["examples"] += ["cancelled AGAIN. what now??", "  cancelled   AGAIN.\twhat now??"]

    report = library_import(data=data, user=editor)

    texts = list(Issue.objects.get(key="cancelled-flight").examples.values_list("text", flat=True))
    assert texts == issue["examples"][:2]
    assert report.notices == [
        "issues[0] 'cancelled-flight': examples[2] repeats examples[1]; merged",
        "issues[0] 'cancelled-flight': examples[3] repeats examples[1]; merged",
    ]
    assert "examples[3] repeats examples[1]; merged" in report.summary()


def test_a_file_with_merged_examples_imports_twice_without_changes(editor):
    data = _library()
    _issue(data, "cancelled-flight")["examples"].append("cancelled  AGAIN. what now??")
    library_import(data=data, user=editor)

    again = library_import(data=data, user=editor)

    assert not again.changed


def test_an_example_differing_only_in_spaces_from_one_in_the_library_is_not_added_again(editor, imported):
    data = _library()
    _issue(data, "cancelled-flight")["examples"][1] = "cancelled  AGAIN.  what now??"

    report = library_import(data=data, user=editor)

    assert not report.changed
    assert Issue.objects.get(key="cancelled-flight").examples.count() == 2


def test_import_and_api_refuse_an_example_over_the_same_limit(editor, editor_client):
    limit = Example._meta.get_field("text").max_length
    data = _library()
    _issue(data, "lost-bag")["examples"].append("x" * (limit + 1))
    library_import(data=_library(), user=editor)

    errors = _errors_of(data, editor)
    answer = editor_client.post(
        "/api/v1/examples/", {"issue": "lost-bag", "text": "x" * (limit + 1)}, format="json"
    )
    fits = _library()
    _issue(fits, "lost-bag")["examples"].append("x" * limit)
    library_import(data=fits, user=editor)

    assert any(f"{limit + 1:,} characters, over the {limit:,} allowed" in line for line in errors)
    assert answer.status_code == 400 and "text" in answer.json()
    assert Example.objects.filter(text="x" * limit).exists()


@pytest.mark.parametrize("text", ["Sorry\u0000!", "Sorry \ud800!"], ids=["NUL", "lone surrogate"])
def test_the_api_refuses_a_nul_or_lone_surrogate_in_a_text_naming_the_field(editor_client, imported, text):
    body = json.dumps({"key": "lost-bag-again", "issue": "lost-bag", "text": text})  # \uXXXX escapes
    answer = editor_client.post("/api/v1/responses/", body, content_type="application/json")

    assert answer.status_code == 400
    assert "text" in answer.json()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (json.dumps({"format": FORMAT, "brands": [{"key": "a", "name": "A\u0000", "handle": "@a"}]}), "name"),
        (json.dumps({"format": FORMAT, "brands": [{"key": "a", "name": "A\ud800", "handle": "@a"}]}), "name"),
        ('{"format": "careline-library/1", "issues": ' + _deep(100_000) + "}", "issues: nested more than"),
    ],
    ids=["NUL", "lone surrogate", "deep"],
)
def test_import_command_names_the_field_instead_of_a_traceback(db, tmp_path, content, expected):
    path = _write(tmp_path, content)

    with pytest.raises(CommandError) as caught:
        _call("import_library", str(path))

    assert "nothing changed" in str(caught.value)
    assert expected in str(caught.value)
    assert not Brand.objects.exists()


def test_import_command_prints_merged_examples(db, tmp_path):
    data = _library()
    _issue(data, "lost-bag")["examples"].append("my bag never showed up  on the belt")

    out = _call("import_library", str(_write(tmp_path, data)))

    assert "issues[1] 'lost-bag': examples[1] repeats examples[0]; merged" in out


# ---- the admin's import page ----------------------------------------------------------------------


def _upload(client, content: str | bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    raw = content if isinstance(content, bytes) else content.encode()
    upload = SimpleUploadedFile("library.json", raw, content_type="application/json")
    return client.post(reverse("admin:kb_issue_import"), {"file": upload})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (json.dumps({"format": FORMAT, "brands": [{"key": "a", "name": "A\u0000", "handle": "@a"}]}), "name"),
        (json.dumps({"format": FORMAT, "brands": [{"key": "a", "name": "A\ud800", "handle": "@a"}]}), "name"),
        ('{"format": "careline-library/1", "issues": ' + _deep(100_000) + "}", "issues: nested more than"),
    ],
    ids=["NUL", "lone surrogate", "deep"],
)
def test_the_import_page_names_the_field_instead_of_failing(client, editor, content, expected):
    client.force_login(editor)

    page = _upload(client, content)

    assert page.status_code == 200
    assert "Nothing was imported" in page.content.decode()
    assert any(expected in line for line in page.context["import_errors"])
    assert not Brand.objects.exists()


def test_the_import_page_shows_merged_examples(client, editor):
    client.force_login(editor)
    data = _library()
    _issue(data, "lost-bag")["examples"].append(" my bag never showed up on the belt ")

    page = _upload(client, json.dumps(data))

    assert page.status_code == 200
    assert "issues[1] &#x27;lost-bag&#x27;: examples[1] repeats examples[0]; merged" in page.content.decode()
