"""Working the inbox over REST: take, release and assign; answer (feedback included), dismiss,
and "nothing fits". Two agents never answer one mention without being told someone has it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from console.models import Mention
from console.services import mention_drafts
from insights.gaps import gap_candidates
from suggestions.models import Feedback
from tests.engine_fixtures import api_client_for
from tests.factories import UserFactory

MENTIONS = "/api/v1/mentions/"


@pytest.fixture
def other_agent():
    agent = UserFactory(username="olga", first_name="Olga", last_name="Ortiz")
    agent.groups.add(Group.objects.get(name="Agents"))
    return agent


@pytest.fixture
def luggage(library, integration_client, django_capture_on_commit_callbacks):
    """A pushed mention with its suggestions computed."""
    with django_capture_on_commit_callbacks(execute=True):
        body = integration_client.post(
            MENTIONS,
            {
                "text": "@AcmeAir the airline lost my luggage",
                "external_id": "t-1",
                "brand": "acme-air",
                "author": {"name": "Jane"},
            },
            format="json",
        ).json()
    return Mention.objects.get(pk=body["id"])


def act(client, mention, verb, **data):
    return client.post(f"{MENTIONS}{mention.pk}/{verb}/", data, format="json")


def best(mention, agent=None):
    """The first draft, as ``agent`` (default: the stored answer) would send it."""
    mention.refresh_from_db()
    return mention_drafts(mention=mention, agent=agent)[0] if agent else mention.suggestion.shown[0]


def test_an_agent_takes_a_mention_and_it_leaves_the_unassigned_queue(luggage, agent_client, agent):
    answer = act(agent_client, luggage, "take")

    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["assigned_to"]) == ("assigned", agent.username)
    unassigned = agent_client.get(MENTIONS, {"assigned_to": "none"}).json()["results"]
    mine = agent_client.get(MENTIONS, {"assigned_to": agent.username}).json()["results"]
    assert unassigned == []
    assert [item["id"] for item in mine] == [luggage.pk]


def test_a_second_agent_sees_who_has_it_and_may_take_it_only_knowingly(luggage, agent_client, other_agent):
    act(agent_client, luggage, "take")
    other = api_client_for(other_agent)

    refused = act(other, luggage, "take")
    forced = act(other, luggage, "take", force=True)

    assert refused.status_code == 409
    assert refused.json() == {"assigned_to": ["Sam Lee has this mention."]}
    assert forced.status_code == 200
    assert forced.json()["assigned_to"] == "olga"


def test_a_second_agent_cannot_answer_a_mention_someone_else_has(luggage, agent_client, other_agent):
    act(agent_client, luggage, "take")

    answer = act(api_client_for(other_agent), luggage, "answer", text="Hi! DM us.")

    assert answer.status_code == 409
    luggage.refresh_from_db()
    assert luggage.status == Mention.Status.ASSIGNED


def test_sending_a_suggestion_as_is_answers_the_mention_and_records_acceptance(luggage, agent_client, agent):
    suggestion = best(luggage, agent)

    answer = act(agent_client, luggage, "answer", text=suggestion["text"], response=suggestion["response"])

    assert answer.status_code == 200, answer.content
    assert (answer.json()["status"], answer.json()["reply_text"]) == ("answered", suggestion["text"])
    feedback = Feedback.objects.get()
    assert (feedback.action, feedback.response.key, feedback.given_by) == (
        "accepted",
        suggestion["response"],
        agent,
    )
    luggage.refresh_from_db()
    assert luggage.suggestion.answered_at is not None
    assert agent_client.get(MENTIONS, {"status": "new"}).json()["results"] == []


def test_sending_an_edited_suggestion_records_the_edit(luggage, agent_client):
    suggestion = best(luggage)

    act(
        agent_client,
        luggage,
        "answer",
        text="Jane, so sorry! DM us your tag.",
        response=suggestion["response"],
    )

    feedback = Feedback.objects.get()
    assert (feedback.action, feedback.final_text) == ("edited", "Jane, so sorry! DM us your tag.")


def test_a_reply_of_the_agents_own_answers_without_feedback(luggage, agent_client):
    answer = act(agent_client, luggage, "answer", text="Hi Jane, our baggage desk will call you today.")

    assert answer.json()["status"] == "answered"
    assert not Feedback.objects.exists()


def test_a_mention_is_answered_once(luggage, agent_client, other_agent):
    act(agent_client, luggage, "answer", text="Hi Jane, DM us.")

    again = act(api_client_for(other_agent), luggage, "answer", text="Hello!", force=True)

    assert again.status_code == 400
    assert again.json()["status"] == ["This mention was already answered by sam."]


@pytest.mark.parametrize(
    ("verb", "data", "field"),
    [
        ("answer", {"text": "   "}, "text"),
        ("answer", {"text": "Hi", "response": "no-such-response"}, "response"),
        ("answer", {"text": "Hi", "response": "card-declined-twitter"}, "response"),
        ("dismiss", {"reason": ""}, "reason"),
        ("assign", {"agent": "nobody"}, "agent"),
    ],
)
def test_bad_input_is_refused_with_a_message_per_field(luggage, editor_client, verb, data, field):
    answer = act(editor_client, luggage, verb, **data)

    assert answer.status_code == 400
    assert field in answer.json()
    luggage.refresh_from_db()
    assert luggage.status == Mention.Status.NEW


def test_dismissing_needs_a_reason_and_closes_the_mention(luggage, agent_client, agent):
    answer = act(agent_client, luggage, "dismiss", reason="spam")

    assert (answer.json()["status"], answer.json()["dismiss_reason"]) == ("dismissed", "spam")
    luggage.refresh_from_db()
    assert luggage.closed_by == agent


def test_nothing_fits_rejects_every_suggestion_and_makes_a_content_gap(luggage, agent_client):
    luggage.refresh_from_db()
    shown = {item["response"] for item in luggage.suggestion.shown}

    answer = act(agent_client, luggage, "nothing-fits")

    assert answer.status_code == 200
    assert answer.json()["status"] == "new"  # still to be answered, by hand or escalation
    assert answer.json()["nothing_fits_at"] is not None
    assert set(Feedback.objects.values_list("response__key", flat=True)) == shown
    assert set(Feedback.objects.values_list("action", flat=True)) == {"rejected"}
    now = timezone.now()
    candidates = gap_candidates(since=now - timedelta(days=1), until=now + timedelta(minutes=1))
    assert [candidate.request_id for candidate in candidates] == [luggage.suggestion_id]


def test_agents_release_their_own_mentions_but_not_others(luggage, agent_client, other_agent):
    act(agent_client, luggage, "take")

    assert act(api_client_for(other_agent), luggage, "release").status_code == 409
    released = act(agent_client, luggage, "release")

    assert (released.json()["status"], released.json()["assigned_to"]) == ("new", None)


def test_leads_assign_mentions_and_agents_cannot(luggage, agent_client, editor_client, other_agent):
    refused = act(agent_client, luggage, "assign", agent="olga")
    assigned = act(editor_client, luggage, "assign", agent="olga")

    assert refused.status_code == 403
    assert (assigned.status_code, assigned.json()["assigned_to"]) == (200, "olga")


def test_the_api_gives_drafts_signed_by_the_caller(luggage, agent_client, editor_client):
    as_agent = agent_client.get(f"{MENTIONS}{luggage.pk}/").json()["suggestions"][0]["text"]
    as_editor = editor_client.get(f"{MENTIONS}{luggage.pk}/").json()["suggestions"][0]["text"]

    assert as_agent.endswith("^SL")  # Sam Lee
    assert as_editor.endswith("^EE")  # Edith Editor
