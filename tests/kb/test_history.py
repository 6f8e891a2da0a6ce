"""Response history: who changed what and when, and going back to an earlier version."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from kb import services
from kb.models import Response
from tests.factories import IssueFactory

ORIGINAL = "Sorry {{ customer_name }}, please DM us your booking code. ^{{ agent_initials }}"
EDITED = "Hi {{ customer_name }}, we're on it. ^{{ agent_initials }}"


@pytest.fixture
def approved(editor):
    """Created and approved by the editor, through the services, so it has a real history."""
    response = services.response_create(
        issue=IssueFactory(), key="sorry-dm", text=ORIGINAL, channel="twitter", created_by=editor
    )
    services.response_submit(response=response, user=editor)
    return services.response_approve(response=response, approved_by=editor)


def _version_with(response: Response, **values) -> int:
    """The history id of the latest version of `response` having these values."""
    return response.history.filter(**values).order_by("-history_id").values_list("history_id", flat=True)[0]


def test_revert_brings_back_the_earlier_text(editor, approved):
    original = _version_with(approved, text=ORIGINAL)
    services.response_update(response=approved, updated_by=editor, text=EDITED)

    services.response_revert(response=approved, history_id=original, reverted_by=editor)

    assert Response.objects.get(pk=approved.pk).text == ORIGINAL


def test_revert_brings_back_other_content_too(editor, approved):
    original = _version_with(approved, text=ORIGINAL)
    other_issue = IssueFactory()
    services.response_update(
        response=approved,
        updated_by=editor,
        text=EDITED,
        channel="email",
        language="de",
        issue=other_issue,
        valid_until=datetime(2030, 1, 1, tzinfo=UTC),
    )

    services.response_revert(response=approved, history_id=original, reverted_by=editor)

    stored = Response.objects.get(pk=approved.pk)
    assert (stored.text, stored.channel, stored.language, stored.issue_id, stored.valid_until) == (
        ORIGINAL,
        "twitter",
        "en",
        approved.history.get(history_id=original).issue_id,
        None,
    )
    assert stored.issue_id != other_issue.pk


def test_author_reverting_an_approved_response_puts_it_in_review(editor, author, approved):
    original = _version_with(approved, text=ORIGINAL)
    services.response_update(response=approved, updated_by=editor, text=EDITED)
    assert Response.objects.get(pk=approved.pk).status == "approved"

    services.response_revert(response=approved, history_id=original, reverted_by=author)

    stored = Response.objects.get(pk=approved.pk)
    assert stored.text == ORIGINAL
    assert stored.status == "in_review"


def test_editor_reverting_an_approved_response_keeps_it_approved(editor, approved):
    original = _version_with(approved, text=ORIGINAL)
    services.response_update(response=approved, updated_by=editor, text=EDITED)

    services.response_revert(response=approved, history_id=original, reverted_by=editor)

    assert Response.objects.get(pk=approved.pk).status == "approved"


def test_reverting_a_retired_response_to_an_approved_version_keeps_it_retired(editor, approved):
    when_approved = _version_with(approved, status="approved")
    services.response_retire(response=approved, retired_by=editor)
    services.response_update(response=approved, updated_by=editor, text=EDITED)

    services.response_revert(response=approved, history_id=when_approved, reverted_by=editor)

    stored = Response.objects.get(pk=approved.pk)
    assert stored.text == ORIGINAL
    assert stored.status == "retired"
    assert not stored.is_live


def test_reverting_a_draft_keeps_it_a_draft(author, editor):
    response = services.response_create(issue=IssueFactory(), key="sorry", text=ORIGINAL, created_by=author)
    first = _version_with(response, text=ORIGINAL)
    services.response_update(response=response, updated_by=author, text=EDITED)

    services.response_revert(response=response, history_id=first, reverted_by=author)

    stored = Response.objects.get(pk=response.pk)
    assert (stored.text, stored.status) == (ORIGINAL, "draft")


def test_revert_is_itself_recorded_in_history(editor, author, approved):
    original = _version_with(approved, text=ORIGINAL)
    services.response_update(response=approved, updated_by=editor, text=EDITED)
    before = approved.history.count()

    services.response_revert(response=approved, history_id=original, reverted_by=author)

    assert approved.history.count() == before + 1
    latest = approved.history.order_by("-history_id").first()
    assert (latest.text, latest.history_user) == (ORIGINAL, author)


def test_reverting_to_the_current_content_changes_nothing(editor, approved):
    current = approved.history.order_by("-history_id").first().history_id
    before = approved.history.count()

    services.response_revert(response=approved, history_id=current, reverted_by=editor)

    assert approved.history.count() == before


def test_a_version_of_another_response_cannot_be_reverted_to(editor, approved):
    other = services.response_create(issue=approved.issue, key="other", text=EDITED, created_by=editor)
    foreign = _version_with(other, text=EDITED)

    with pytest.raises(Response.history.model.DoesNotExist):
        services.response_revert(response=approved, history_id=foreign, reverted_by=editor)

    assert Response.objects.get(pk=approved.pk).text == ORIGINAL


def test_history_rows_record_who_when_and_why(editor, author):
    started = timezone.now()
    response = services.response_create(issue=IssueFactory(), key="sorry", text=ORIGINAL, created_by=author)
    services.response_update(response=response, updated_by=author, text=EDITED, language="de")
    services.response_submit(response=response, user=author)
    services.response_approve(response=response, approved_by=editor)
    services.response_retire(response=response, retired_by=editor)
    services.response_transition(response=response, to_status="draft", user=author)

    rows = list(response.history.order_by("history_id"))

    assert [(row.history_user, row.history_change_reason) for row in rows] == [
        (author, "created"),
        (author, "edited text, language"),
        (author, "submit for review"),
        (editor, "approve"),
        (editor, "retire"),
        (author, "reopen as draft"),
    ]
    assert all(started <= row.history_date <= timezone.now() for row in rows)
    assert [row.history_date for row in rows] == sorted(row.history_date for row in rows)


def test_a_change_without_a_user_is_recorded_without_one(db):
    response = services.response_create(issue=IssueFactory(), key="sorry", text=ORIGINAL)

    assert response.history.get().history_user is None
