"""A reply sent from a candidate (a draft folded away because the engine abstained) is counted
honestly: the mention was abstained on and is answered, and the summary says how many answers
came from candidates; the response was never shown, so its acceptance rate is untouched."""

from __future__ import annotations

import pytest

from insights.analytics import analytics_filter, mentions_summary, responses_usage

SUGGESTIONS = "/api/v1/suggestions/"


@pytest.fixture
def sent_from_a_candidate(library, agent_client, settings):
    settings.CARELINE_ABSTAIN_THRESHOLD = 1.0
    asked = agent_client.post(SUGGESTIONS, {"text": "the airline lost my luggage"}, format="json").json()
    agent_client.post(SUGGESTIONS, {"text": "what a lovely sunny day for gardening"}, format="json")
    given = agent_client.post(
        f"{SUGGESTIONS}{asked['id']}/feedback/",
        {"response": asked["candidates"][0]["response"], "action": "accepted"},
        format="json",
    )
    assert given.status_code == 200
    return asked


def test_the_summary_counts_answers_sent_from_candidates(sent_from_a_candidate):
    summary = mentions_summary(filters=analytics_filter())

    assert (summary.mentions, summary.abstained, summary.answered) == (2, 2, 1)
    assert summary.answered_from_candidates == 1


def test_a_sent_candidate_is_no_showing_of_its_response(sent_from_a_candidate):
    assert responses_usage(filters=analytics_filter()) == []


def test_the_summary_api_reports_them(sent_from_a_candidate, editor_client):
    body = editor_client.get("/api/v1/analytics/summary/").json()

    assert (body["abstained"], body["answered"], body["answered_from_candidates"]) == (2, 1, 1)
