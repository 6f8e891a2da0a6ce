"""An abstained answer still carries the ranked drafts, as ``candidates`` beside the empty
``suggestions``: an agent sees the closest ones, an integration acting on ``suggestions`` sends
nothing. Feedback may name a candidate; it must still be live when sent."""

from __future__ import annotations

import pytest

from kb import services
from suggestions.models import Feedback, SuggestedResponse, SuggestionRequest

URL = "/api/v1/suggestions/"
LUGGAGE = {"text": "the airline lost my luggage", "channel": "twitter", "author": {"name": "Jane"}}
DRAFT_FIELDS = {
    "response",
    "issue",
    "text",
    "score",
    "confidence",
    "matched_example",
    "private_channel",
    "length",
    "fits_channel",
}


def ask(client, data=LUGGAGE):
    answer = client.post(URL, data, format="json")
    assert answer.status_code == 200
    return answer.json()


@pytest.fixture
def abstaining(settings):
    """Every answer abstains: even the best draft is below the threshold."""
    settings.CARELINE_ABSTAIN_THRESHOLD = 1.0


@pytest.fixture
def abstained(library, agent_client, abstaining):
    body = ask(agent_client)
    assert body["abstained"] is True
    return body


def test_an_abstained_answer_carries_the_ranked_drafts_as_candidates(abstained):
    assert abstained["suggestions"] == []
    candidates = abstained["candidates"]
    assert candidates[0]["response"] == "lost-baggage-dm"
    assert all(set(item) >= DRAFT_FIELDS for item in candidates)
    assert candidates[0]["text"].startswith("Jane, so sorry your bag")
    confidences = [item["confidence"] for item in candidates]
    assert confidences == sorted(confidences, reverse=True) and confidences[0] < 1.0


def test_candidates_are_the_same_drafts_the_engine_would_have_shown(library, agent_client, settings):
    shown = ask(agent_client)
    settings.CARELINE_ABSTAIN_THRESHOLD = 1.0

    folded = ask(agent_client)

    assert shown["abstained"] is False and shown["candidates"] == []
    assert [item["response"] for item in folded["candidates"]] == [
        item["response"] for item in shown["suggestions"]
    ]


def test_a_stored_abstained_request_reads_back_with_its_candidates(abstained, agent_client):
    again = agent_client.get(f"{URL}{abstained['id']}/").json()

    assert again["suggestions"] == []
    assert again["candidates"] == abstained["candidates"]
    listed = agent_client.get(URL).json()["results"][0]
    assert listed["candidates"] == abstained["candidates"]


def test_candidates_were_never_shown_for_analytics(abstained):
    rows = SuggestedResponse.objects.filter(request_id=abstained["id"])

    assert rows.count() == len(abstained["candidates"])
    assert not rows.filter(shown=True).exists()


def test_a_candidate_may_be_sent_and_counts_as_the_reply(abstained, agent_client, agent):
    answer = agent_client.post(
        f"{URL}{abstained['id']}/feedback/",
        {"response": "lost-baggage-dm", "action": "accepted"},
        format="json",
    )

    assert answer.status_code == 200, answer.json()
    feedback = Feedback.objects.get()
    assert (feedback.action, feedback.final_text, feedback.given_by) == (
        "accepted",
        abstained["candidates"][0]["text"],
        agent,
    )
    assert SuggestionRequest.objects.get(pk=abstained["id"]).answered_at is not None


def test_a_candidate_no_longer_live_is_refused_naming_response(abstained, agent_client, library, editor):
    services.response_retire(response=library.responses["lost-baggage-dm"], retired_by=editor)

    answer = agent_client.post(
        f"{URL}{abstained['id']}/feedback/",
        {"response": "lost-baggage-dm", "action": "accepted"},
        format="json",
    )

    assert answer.status_code == 400
    assert "may not be sent" in " ".join(answer.json()["response"])
    assert not Feedback.objects.exists()


def test_a_response_neither_suggested_nor_a_candidate_is_refused(abstained, agent_client):
    # The same issue's other reply: at most one response per issue is ranked.
    assert "lost-baggage-any" not in [item["response"] for item in abstained["candidates"]]

    answer = agent_client.post(
        f"{URL}{abstained['id']}/feedback/",
        {"response": "lost-baggage-any", "action": "accepted"},
        format="json",
    )

    assert answer.status_code == 400
    assert "was not suggested" in " ".join(answer.json()["response"])


def test_the_schema_documents_candidates_with_the_suggestions_shape(db, anonymous_client):
    schema = anonymous_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    components = schema["components"]["schemas"]
    answer = components["SuggestionOutput"]["properties"]
    assert set(answer) >= {"suggestions", "candidates"}
    assert answer["candidates"]["type"] == "array"
    assert answer["candidates"]["items"] == answer["suggestions"]["items"]
    draft = components[answer["candidates"]["items"]["$ref"].rsplit("/", 1)[-1]]
    assert set(draft["properties"]) >= DRAFT_FIELDS
    mention = components["Mention"]["properties"]
    assert mention["candidates"]["items"] == answer["candidates"]["items"]
