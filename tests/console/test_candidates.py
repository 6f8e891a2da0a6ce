"""A mention the engine abstained on keeps its ranked drafts as candidates, beside the empty
suggestions of the inbox API: rendered for the agent and live, as drafts are. An agent may send
one (refused when it is no longer live), or say nothing fits."""

from __future__ import annotations

import pytest

from console.models import Mention
from console.services import mention_answer, mention_candidates, mention_receive
from kb import services
from suggestions.models import Feedback, SuggestedResponse

MENTIONS = "/api/v1/mentions/"
DM = "lost-baggage-dm"


@pytest.fixture
def abstaining(settings):
    settings.CARELINE_ABSTAIN_THRESHOLD = 1.0


def received(library, capture, text="@AcmeAir the airline lost my luggage", external_id="t-1"):
    with capture(execute=True):
        mention, _ = mention_receive(
            text=text,
            external_id=external_id,
            channel="twitter",
            brand=library.brands["acme-air"],
            author_name="Jane",
            author_handle="@jane",
        )
    mention.refresh_from_db()
    return mention


@pytest.fixture
def doubted(library, abstaining, django_capture_on_commit_callbacks):
    """Acme Air's luggage mention, abstained on although lost-baggage-dm ranked first."""
    mention = received(library, django_capture_on_commit_callbacks)
    assert mention.suggestion.abstained
    assert mention.suggestion.candidates[0]["response"] == DM
    return mention


@pytest.fixture
def browser(client, agent):
    client.force_login(agent)
    return client


def page(client, mention) -> str:
    answer = client.get(f"/mentions/{mention.pk}/")
    assert answer.status_code == 200
    return answer.content.decode()


# ---- the inbox API -----------------------------------------------------------------------------


def test_an_abstained_mention_lists_its_candidates_beside_no_suggestions(doubted, agent, agent_client):
    one = agent_client.get(f"{MENTIONS}{doubted.pk}/").json()
    listed = agent_client.get(MENTIONS).json()["results"][0]

    assert (one["abstained"], one["suggestions"]) == (True, [])
    assert one["candidates"][0]["response"] == DM
    assert one["candidates"][0]["text"].endswith("^SL")  # signed for the agent reading it
    assert one["candidates"] == mention_candidates(mention=doubted, agent=agent)
    assert listed["candidates"] == one["candidates"]


def test_a_mention_answered_with_confidence_has_no_candidates(
    library, agent_client, django_capture_on_commit_callbacks
):
    mention = received(library, django_capture_on_commit_callbacks)

    body = agent_client.get(f"{MENTIONS}{mention.pk}/").json()

    assert body["abstained"] is False
    assert body["suggestions"][0]["response"] == DM
    assert body["candidates"] == []


def test_a_candidate_no_longer_live_is_left_out(doubted, agent_client, library, editor):
    services.response_retire(response=library.responses[DM], retired_by=editor)

    body = agent_client.get(f"{MENTIONS}{doubted.pk}/").json()

    assert DM not in [item["response"] for item in body["candidates"]]


def test_a_candidate_may_be_sent_over_the_answer_api(doubted, agent, agent_client):
    text = agent_client.get(f"{MENTIONS}{doubted.pk}/").json()["candidates"][0]["text"]

    answer = agent_client.post(
        f"{MENTIONS}{doubted.pk}/answer/", {"text": text, "response": DM}, format="json"
    )

    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == Mention.Status.ANSWERED
    feedback = Feedback.objects.get()
    assert (feedback.response.key, feedback.action, feedback.given_by) == (DM, "accepted", agent)
    # Folded, never shown: analytics count it as a reply sent, not as an accepted showing.
    assert not SuggestedResponse.objects.filter(shown=True).exists()
    doubted.suggestion.refresh_from_db()
    assert doubted.suggestion.answered_at is not None


def test_sending_a_candidate_no_longer_live_is_refused(doubted, agent, agent_client, library, editor):
    services.response_retire(response=library.responses[DM], retired_by=editor)

    answer = agent_client.post(
        f"{MENTIONS}{doubted.pk}/answer/", {"text": "Jane, DM us. ^SL", "response": DM}, format="json"
    )

    assert answer.status_code == 400
    assert "response" in answer.json()
    doubted.refresh_from_db()
    assert doubted.is_open and not Feedback.objects.exists()


def test_an_edited_candidate_is_recorded_as_edited(doubted, agent, library):
    mention_answer(
        mention=doubted, agent=agent, text="Jane, DM us your tag. ^SL", response=library.responses[DM]
    )

    assert Feedback.objects.get().action == Feedback.Action.EDITED


def test_nothing_fits_rejects_the_candidates(doubted, agent, agent_client):
    answer = agent_client.post(f"{MENTIONS}{doubted.pk}/nothing-fits/", format="json")

    assert answer.status_code == 200
    keys = [item["response"] for item in doubted.suggestion.candidates]
    assert sorted(Feedback.objects.values_list("response__key", "action")) == sorted(
        (key, Feedback.Action.REJECTED) for key in keys
    )
