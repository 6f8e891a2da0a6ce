"""POST /api/v1/suggestions/{id}/feedback/: what the agent did with a suggestion."""

from __future__ import annotations

import pytest

from suggestions.models import Feedback


@pytest.fixture
def answered(library, agent_client):
    """A stored suggestion request whose best reply is lost-baggage-dm."""
    body = agent_client.post(
        "/api/v1/suggestions/",
        {"text": "the airline lost my luggage", "channel": "twitter", "author": {"name": "Jane"}},
        format="json",
    ).json()
    assert body["suggestions"][0]["response"] == "lost-baggage-dm"
    return body


def give(client, answered, **data):
    return client.post(f"/api/v1/suggestions/{answered['id']}/feedback/", data, format="json")


def test_accepted_records_the_suggested_text_as_sent(answered, agent_client, agent):
    answer = give(agent_client, answered, response="lost-baggage-dm", action="accepted")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["request"], body["response"], body["action"], body["given_by"]) == (
        answered["id"],
        "lost-baggage-dm",
        "accepted",
        "sam",
    )
    feedback = Feedback.objects.get()
    assert feedback.final_text == answered["suggestions"][0]["text"]
    assert feedback.given_by == agent


def test_edited_records_the_text_the_agent_sent(answered, agent_client):
    answer = give(
        agent_client,
        answered,
        response="lost-baggage-dm",
        action="edited",
        final_text="Jane, DM us your tag!",
    )

    assert answer.status_code == 200
    assert answer.json()["final_text"] == "Jane, DM us your tag!"
    assert Feedback.objects.get().final_text == "Jane, DM us your tag!"


def test_rejected_is_recorded(answered, agent_client):
    assert give(agent_client, answered, response="lost-baggage-dm", action="rejected").status_code == 200

    assert Feedback.objects.get().action == "rejected"


def test_feedback_given_again_replaces_the_earlier_answer(answered, agent_client):
    give(agent_client, answered, response="lost-baggage-dm", action="accepted")
    give(agent_client, answered, response="lost-baggage-dm", action="accepted")
    again = give(
        agent_client, answered, response="lost-baggage-dm", action="edited", final_text="Sorry Jane!"
    )

    assert again.status_code == 200
    feedback = Feedback.objects.get()
    assert (feedback.action, feedback.final_text) == ("edited", "Sorry Jane!")


def test_each_agent_and_each_response_has_its_own_feedback(answered, agent_client, editor_client):
    give(agent_client, answered, response="lost-baggage-dm", action="accepted")
    give(editor_client, answered, response="lost-baggage-dm", action="rejected")
    second_choice = answered["suggestions"][1]["response"]
    give(agent_client, answered, response=second_choice, action="rejected")

    rows = {
        (f.given_by.username, f.response.key, f.action) for f in Feedback.objects.select_related("response")
    }
    assert rows == {
        ("sam", "lost-baggage-dm", "accepted"),
        ("edith", "lost-baggage-dm", "rejected"),
        ("sam", second_choice, "rejected"),
    }


@pytest.mark.parametrize("final_text", [None, "", "   "])
def test_edited_without_the_final_text_is_400(answered, agent_client, final_text):
    data = {"response": "lost-baggage-dm", "action": "edited"}
    if final_text is not None:
        data["final_text"] = final_text

    answer = give(agent_client, answered, **data)

    assert answer.status_code == 400
    assert "final_text" in answer.json()
    assert not Feedback.objects.exists()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"response": "lost-baggage-dm", "action": "loved"}, "action"),
        ({"response": "lost-baggage-dm"}, "action"),
        ({"response": "no-such-reply", "action": "accepted"}, "response"),
        ({"action": "accepted"}, "response"),
    ],
    ids=["unknown-action", "no-action", "unknown-response", "no-response"],
)
def test_bad_feedback_is_400_naming_the_field(answered, agent_client, data, field):
    answer = give(agent_client, answered, **data)

    assert answer.status_code == 400
    assert field in answer.json()
    assert not Feedback.objects.exists()


def test_unknown_response_message_names_it(answered, agent_client):
    errors = give(agent_client, answered, response="no-such-reply", action="accepted").json()

    assert errors == {"response": ["Unknown response 'no-such-reply'."]}


def test_empty_body_is_400_with_a_message_per_field(answered, agent_client):
    answer = give(agent_client, answered)

    assert answer.status_code == 400
    assert {"response", "action"} <= set(answer.json())


def test_malformed_json_is_400(answered, agent_client):
    answer = agent_client.post(
        f"/api/v1/suggestions/{answered['id']}/feedback/",
        data=b'{"action": ',
        content_type="application/json",
    )

    assert answer.status_code == 400


@pytest.mark.parametrize("suggestion_id", ["999999", "not-a-number"])
def test_feedback_on_an_unknown_suggestion_is_404(library, agent_client, suggestion_id):
    answer = agent_client.post(
        f"/api/v1/suggestions/{suggestion_id}/feedback/",
        {"response": "lost-baggage-dm", "action": "accepted"},
        format="json",
    )

    assert answer.status_code == 404


def test_feedback_needs_authentication(answered, anonymous_client):
    answer = give(anonymous_client, answered, response="lost-baggage-dm", action="accepted")

    assert answer.status_code in (401, 403)
    assert not Feedback.objects.exists()


def test_feedback_on_a_response_that_was_not_suggested_is_refused(answered, agent_client):
    shown = {item["response"] for item in answered["suggestions"]}
    assert "cancelled-flight-any" not in shown

    answer = give(agent_client, answered, response="cancelled-flight-any", action="accepted")

    assert answer.status_code == 400
    assert "not suggested" in answer.json()["response"][0]
    assert not Feedback.objects.exists()
