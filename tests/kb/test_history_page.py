"""The admin's history page shows what changed in words an editor reads, not truncated reprs."""

from __future__ import annotations

import pytest

from kb import services
from tests.factories import IssueFactory

pytestmark = pytest.mark.django_db

GREETING = "Hi {{ customer_first_name|default:'there' }}, "
BEFORE = GREETING + "so sorry about the cancellation. Please DM us your code."
AFTER = GREETING + "so sorry about the delay. Please DM us your code today."


@pytest.fixture
def edited(editor):
    response = services.response_create(
        issue=IssueFactory(), key="sorry-dm", text=BEFORE, channel="twitter", created_by=editor
    )
    return services.response_update(response=response, updated_by=editor, text=AFTER)


def history_page(client, editor, response) -> str:
    client.force_login(editor)
    answer = client.get(f"/admin/kb/response/{response.pk}/history/")
    assert answer.status_code == 200
    return answer.content.decode()


def test_a_text_change_shows_the_words_taken_out_and_put_in(client, editor, edited):
    html = history_page(client, editor, edited)

    assert "chars]" not in html  # no "Hi {{[32 chars]}…"
    assert "<del>cancellation.</del>" in html
    assert "<ins>delay.</ins>" in html
    assert "<ins>today.</ins>" in html or "<del>code.</del>" in html
    assert "so sorry about the" in html  # the words around the change, in full


def test_an_empty_person_reads_as_nobody_not_a_deleted_user(client, editor, edited):
    services.response_submit(response=edited, user=editor)
    approved = services.response_approve(response=edited, approved_by=editor)
    services.response_update(response=approved, updated_by=editor, status="retired")

    html = history_page(client, editor, approved)

    assert "Deleted user" not in html
    assert "pk=None" not in html
