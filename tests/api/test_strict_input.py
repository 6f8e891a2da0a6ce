"""What POST /api/v1/suggestions/ and its feedback refuse to take in (misspelt fields, times in
the future), and who may ask at all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from suggestions.models import Feedback, SuggestionRequest
from tests.engine_fixtures import api_client_for
from tests.factories import UserFactory

URL = "/api/v1/suggestions/"
LUGGAGE = "the airline lost my luggage"


def ask(client, **data):
    return client.post(URL, data, format="json")


def give(client, request_id, **data):
    return client.post(f"{URL}{request_id}/feedback/", data, format="json")


def test_a_misspelt_brand_is_refused_not_answered_for_every_brand(library, agent_client):
    answer = ask(agent_client, text="my card keeps getting declined", brnad="acme-air")

    assert answer.status_code == 400
    assert "brnad" in answer.json()
    assert not SuggestionRequest.objects.exists()


def test_a_misspelt_field_is_named_beside_the_other_errors(library, agent_client):
    answer = ask(agent_client, text="", chanel="twitter")

    assert answer.status_code == 400
    assert {"text", "chanel"} <= set(answer.json())


def test_a_mention_received_in_the_future_is_refused(library, agent_client):
    later = (timezone.now() + timedelta(days=365)).isoformat()

    answer = ask(agent_client, text=LUGGAGE, received_at=later)

    assert answer.status_code == 400
    assert "received_at" in answer.json()


def test_a_mention_received_a_moment_ago_by_a_clock_slightly_ahead_is_answered(library, agent_client):
    soon = (timezone.now() + timedelta(minutes=2)).isoformat()

    assert ask(agent_client, text=LUGGAGE, received_at=soon).status_code == 200


@pytest.fixture
def asked(library, agent_client):
    return ask(agent_client, text=LUGGAGE, channel="twitter").json()


def test_misspelt_feedback_is_refused_naming_the_field(asked, agent_client):
    answer = give(agent_client, asked["id"], response="lost-baggage-dm", action="edited", finaltext="Hi")

    assert answer.status_code == 400
    assert "finaltext" in answer.json()
    assert not Feedback.objects.exists()


def test_feedback_sent_in_the_future_is_refused(asked, agent_client):
    later = (timezone.now() + timedelta(days=2)).isoformat()

    answer = give(agent_client, asked["id"], response="lost-baggage-dm", action="accepted", sent_at=later)

    assert answer.status_code == 400
    assert "sent_at" in answer.json()
    assert not Feedback.objects.exists()


def test_someone_in_no_group_may_not_ask_for_suggestions(library):
    client = api_client_for(UserFactory(username="nobody"))

    assert ask(client, text=LUGGAGE).status_code == 403
    assert client.get(URL).status_code == 403
    assert not SuggestionRequest.objects.exists()


def test_integrations_ask_and_give_feedback(library, integration_client):
    asked = ask(integration_client, text=LUGGAGE, channel="twitter")
    assert asked.status_code == 200

    answer = give(integration_client, asked.json()["id"], response="lost-baggage-dm", action="accepted")

    assert answer.status_code == 200
    assert Feedback.objects.get().given_by.username == "feed"


def test_authors_try_suggestions_but_record_no_feedback(library, author_client):
    asked = ask(author_client, text=LUGGAGE, channel="twitter")
    assert asked.status_code == 200

    answer = give(author_client, asked.json()["id"], response="lost-baggage-dm", action="accepted")

    assert answer.status_code == 403
    assert not Feedback.objects.exists()
