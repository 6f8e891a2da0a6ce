"""What the engine keeps for the learning loop: each suggested response as a row, when a mention
arrived and was answered, and the mentions agents answered proposed as pending examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from kb.models import Example
from suggestions.indexing import index_rebuild, library_snapshot
from suggestions.models import ExampleProposal, SuggestedResponse, SuggestionRequest
from suggestions.services import feedback_give
from tests.engine_fixtures import api_client_for
from tests.factories import SuggestionRequestFactory

LUGGAGE = "@AcmeAir the airline lost my luggage https://t.co/x1"
CLEANED = "the airline lost my luggage"


def ask(client, **data):
    answer = client.post("/api/v1/suggestions/", {"channel": "twitter", **data}, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()


def give(client, request_id, **data):
    return client.post(f"/api/v1/suggestions/{request_id}/feedback/", data, format="json")


def test_each_suggestion_is_stored_in_order_with_its_issue(library, agent_client):
    body = ask(agent_client, text=LUGGAGE, limit=3)

    rows = list(SuggestedResponse.objects.filter(request_id=body["id"]).order_by("position"))
    assert [row.response.key for row in rows] == [item["response"] for item in body["suggestions"]]
    assert [row.issue.key for row in rows] == [item["issue"]["key"] for item in body["suggestions"]]
    assert [row.position for row in rows] == list(range(1, len(rows) + 1))
    assert all(row.shown for row in rows)
    assert rows[0].confidence == body["suggestions"][0]["confidence"]


def test_an_abstained_ranking_is_stored_as_never_shown(library, agent_client, settings):
    body = ask(agent_client, text="what a lovely sunny day for gardening", limit=3)

    assert body["abstained"] is True
    stored = SuggestionRequest.objects.get(pk=body["id"])
    rows = SuggestedResponse.objects.filter(request=stored)
    assert rows.count() == len(stored.results) > 0
    assert not rows.filter(shown=True).exists()


def test_the_time_a_mention_arrived_is_kept_and_returned(library, agent_client):
    body = ask(agent_client, text=LUGGAGE, received_at="2026-11-20T09:30:00Z")

    assert body["received_at"] == "2026-11-20T09:30:00Z"
    assert body["answered_at"] is None
    assert SuggestionRequest.objects.get(pk=body["id"]).received_at == datetime(
        2026, 11, 20, 9, 30, tzinfo=UTC
    )


def test_a_received_time_that_is_not_a_time_is_refused(library, agent_client):
    answer = agent_client.post(
        "/api/v1/suggestions/", {"text": LUGGAGE, "received_at": "yesterday"}, format="json"
    )

    assert answer.status_code == 400
    assert "received_at" in answer.json()


def test_sending_a_reply_marks_the_mention_answered_once(library, agent_client, editor):
    body = ask(agent_client, text=LUGGAGE)
    before = timezone.now()

    give(agent_client, body["id"], response=body["suggestions"][0]["response"], action="accepted")
    answered_at = SuggestionRequest.objects.get(pk=body["id"]).answered_at
    give(
        api_client_for(editor),
        body["id"],
        response=body["suggestions"][0]["response"],
        action="edited",
        final_text="Jane, DM us your bag tag please.",
        sent_at="2026-01-01T00:00:00Z",
    )

    assert answered_at is not None and answered_at >= before
    assert SuggestionRequest.objects.get(pk=body["id"]).answered_at == answered_at


def test_the_integration_may_report_when_the_reply_went_out(library, agent_client):
    body = ask(agent_client, text=LUGGAGE, received_at="2026-11-20T09:30:00Z")

    give(
        agent_client,
        body["id"],
        response=body["suggestions"][0]["response"],
        action="accepted",
        sent_at="2026-11-20T09:42:00Z",
    )

    stored = SuggestionRequest.objects.get(pk=body["id"])
    assert stored.answered_at - stored.received_at == timedelta(minutes=12)


def test_a_rejection_does_not_answer_the_mention(library, agent_client):
    body = ask(agent_client, text=LUGGAGE)

    give(agent_client, body["id"], response=body["suggestions"][0]["response"], action="rejected")

    assert SuggestionRequest.objects.get(pk=body["id"]).answered_at is None
    assert not Example.objects.filter(status=Example.Status.PENDING).exists()


@pytest.mark.parametrize("action", ["accepted", "edited"])
def test_an_answered_mention_is_proposed_as_a_pending_example(library, agent_client, agent, action):
    body = ask(agent_client, text=LUGGAGE)
    best = body["suggestions"][0]

    give(agent_client, body["id"], response=best["response"], action=action, final_text="Sent: DM us.")

    example = Example.objects.get(status=Example.Status.PENDING)
    assert (example.text, example.issue.key, example.source) == (CLEANED, best["issue"]["key"], "learned")
    assert example.created_by == agent
    assert example.proposals.get().feedback.request_id == body["id"]


def test_a_pending_example_never_reaches_the_index(library, agent_client):
    body = ask(agent_client, text="@AcmeAir the airline lost my luggage in lisbon")
    give(agent_client, body["id"], response=body["suggestions"][0]["response"], action="accepted")
    assert Example.objects.filter(status=Example.Status.PENDING, text__contains="lisbon").exists()

    index_rebuild()

    assert not any("lisbon" in text for text in library_snapshot().texts.values())
    again = ask(agent_client, text="@AcmeAir the airline lost my luggage in lisbon")
    assert all("lisbon" not in item["matched_example"] for item in again["suggestions"])


def test_the_same_mention_answered_by_two_agents_is_one_example_with_two_proposals(
    library, agent_client, editor
):
    body = ask(agent_client, text=LUGGAGE)
    response = body["suggestions"][0]["response"]

    give(agent_client, body["id"], response=response, action="accepted")
    give(api_client_for(editor), body["id"], response=response, action="accepted")

    example = Example.objects.get(status=Example.Status.PENDING)
    assert example.proposals.count() == 2


def test_a_phrasing_the_issue_already_has_is_not_proposed_again(library, agent_client):
    body = ask(agent_client, text="@AcmeAir the airline lost my luggage on the connecting flight")
    existing = Example.objects.get(text="the airline lost my luggage on the connecting flight")

    give(agent_client, body["id"], response=body["suggestions"][0]["response"], action="accepted")

    assert not Example.objects.filter(status=Example.Status.PENDING).exists()
    assert ExampleProposal.objects.get().example == existing
    existing.refresh_from_db()
    assert existing.status == Example.Status.ACTIVE


def test_a_rejection_withdraws_the_proposal_and_retires_an_example_nobody_proposes(library, agent_client):
    body = ask(agent_client, text=LUGGAGE)
    response = body["suggestions"][0]["response"]
    give(agent_client, body["id"], response=response, action="accepted")

    give(agent_client, body["id"], response=response, action="rejected")

    example = Example.objects.get(text=CLEANED)
    assert example.status == Example.Status.RETIRED
    assert not ExampleProposal.objects.exists()


def test_a_rejection_leaves_an_example_another_agent_still_proposes(library, agent_client, editor):
    body = ask(agent_client, text=LUGGAGE)
    response = body["suggestions"][0]["response"]
    give(agent_client, body["id"], response=response, action="accepted")
    give(api_client_for(editor), body["id"], response=response, action="accepted")

    give(agent_client, body["id"], response=response, action="rejected")

    example = Example.objects.get(text=CLEANED)
    assert example.status == Example.Status.PENDING
    assert example.proposals.count() == 1


def test_agents_cannot_activate_a_proposed_example(library, agent_client):
    body = ask(agent_client, text=LUGGAGE)
    give(agent_client, body["id"], response=body["suggestions"][0]["response"], action="accepted")
    example = Example.objects.get(status=Example.Status.PENDING)

    answer = agent_client.patch(f"/api/v1/examples/{example.pk}/", {"status": "active"}, format="json")

    assert answer.status_code == 403
    example.refresh_from_db()
    assert example.status == Example.Status.PENDING


def test_requests_answered_before_the_rows_existed_are_backfilled(library):
    migration = import_module("suggestions.migrations.0002_learning_loop")
    first, second = library.responses["lost-baggage-dm"], library.responses["cancelled-flight-any"]
    request = SuggestionRequestFactory(
        abstained=True,
        results=[
            {"response": first.key, "confidence": 0.4},
            {"response": "since-deleted"},
            {"response": second.key},
        ],
    )

    migration.suggested_from_stored_results(apps, None)

    rows = list(SuggestedResponse.objects.filter(request=request).order_by("position"))
    assert [(row.response, row.issue, row.position, row.shown) for row in rows] == [
        (first, first.issue, 1, False),
        (second, second.issue, 3, False),
    ]
    assert rows[0].confidence == 0.4


def test_feedback_without_a_user_proposes_an_example_nobody_created(library, agent_client):
    """The API always knows the agent; a script calling the service may not."""
    body = ask(agent_client, text=LUGGAGE)
    request = SuggestionRequest.objects.get(pk=body["id"])
    response = library.responses[body["suggestions"][0]["response"]]

    feedback_give(request=request, response=response, action="accepted", given_by=None)

    assert Example.objects.get(status=Example.Status.PENDING).created_by is None
