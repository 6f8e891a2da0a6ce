"""POST and GET /api/v1/mentions/: integrations push mentions once, each is answered in the
background, and the inbox lists them oldest first with filters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from console.models import Mention
from console.tasks import mention_suggest_task, mentions_suggest_missed_task
from suggestions.models import SuggestionRequest
from tests.engine_fixtures import api_client_for

MENTIONS = "/api/v1/mentions/"
LUGGAGE = {
    "text": "@AcmeAir the airline lost my luggage https://t.co/x1",
    "external_id": "1861000000000000001",
    "brand": "acme-air",
    "channel": "twitter",
    "author": {"handle": "@jane", "name": "Jane"},
    "received_at": "2026-11-23T09:30:00Z",
}


@pytest.fixture
def push(integration_client, django_capture_on_commit_callbacks):
    """Push a mention as an integration would, with its background task run on commit."""

    def pushed(**data):
        with django_capture_on_commit_callbacks(execute=True):
            return integration_client.post(MENTIONS, data, format="json")

    return pushed


def test_a_pushed_mention_is_stored_and_answered_in_the_background(library, push, agent_client):
    answer = push(**LUGGAGE)

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["external_id"], body["brand"], body["channel"], body["status"]) == (
        LUGGAGE["external_id"],
        "acme-air",
        "twitter",
        "new",
    )
    assert body["author"] == {"handle": "@jane", "name": "Jane"}
    shown = agent_client.get(f"{MENTIONS}{body['id']}/").json()
    assert shown["suggestions_ready"] is True
    assert shown["abstained"] is False
    assert shown["suggestions"][0]["response"] == "lost-baggage-dm"
    assert shown["suggestions"][0]["text"].startswith("Jane")
    request = SuggestionRequest.objects.get(pk=shown["suggestion_request"])
    assert (request.external_id, request.received_at.isoformat()) == (
        LUGGAGE["external_id"],
        "2026-11-23T09:30:00+00:00",
    )


def test_pushing_the_same_mention_again_changes_nothing(library, push):
    first = push(**LUGGAGE)
    again = push(**{**LUGGAGE, "text": "edited text from a retrying integration"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["text"] == LUGGAGE["text"]
    assert Mention.objects.count() == 1
    assert SuggestionRequest.objects.count() == 1


def test_the_same_id_on_another_channel_is_another_mention(library, push):
    push(**LUGGAGE)

    answer = push(**{**LUGGAGE, "channel": "instagram"})

    assert answer.status_code == 201
    assert Mention.objects.count() == 2


def test_a_mention_nothing_fits_is_ready_and_abstained(library, push, agent_client):
    body = push(text="what a lovely sunny day for gardening", external_id="garden").json()

    shown = agent_client.get(f"{MENTIONS}{body['id']}/").json()

    assert (shown["suggestions_ready"], shown["abstained"], shown["suggestions"]) == (True, True, [])


def test_received_time_defaults_to_when_it_was_pushed(library, push):
    before = timezone.now()

    body = push(text="@AcmeAir where is my bag", external_id="no-time").json()

    assert Mention.objects.get(pk=body["id"]).received_at >= before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"text": ""}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"text": 42}, "text"),
        ({"external_id": None}, "external_id"),
        ({"brand": "nope"}, "brand"),
        ({"channel": "fax"}, "channel"),
        ({"received_at": "yesterday"}, "received_at"),
    ],
)
def test_bad_input_is_refused_with_a_message_per_field(library, push, change, field):
    answer = push(**{**LUGGAGE, **change})

    assert answer.status_code == 400
    assert field in answer.json()
    assert not Mention.objects.exists()


def test_a_missing_external_id_is_refused(library, push):
    data = {key: value for key, value in LUGGAGE.items() if key != "external_id"}

    answer = push(**data)

    assert answer.status_code == 400
    assert "external_id" in answer.json()


def test_malformed_json_is_refused(library, integration_client):
    answer = integration_client.post(MENTIONS, "{not json", content_type="application/json")

    assert answer.status_code == 400


def test_anonymous_callers_cannot_push(library, anonymous_client):
    assert anonymous_client.post(MENTIONS, LUGGAGE, format="json").status_code in (401, 403)


def mention(external_id, *, minutes_ago, **fields):
    return Mention.objects.create(
        text=f"mention {external_id}",
        external_id=external_id,
        channel=fields.pop("channel", "twitter"),
        received_at=timezone.now() - timedelta(minutes=minutes_ago),
        **fields,
    )


def listed(client, **filters):
    answer = client.get(MENTIONS, filters)
    assert answer.status_code == 200, answer.content
    return [item["external_id"] for item in answer.json()["results"]]


def test_the_inbox_lists_oldest_first_and_filters(library, agent_client):
    acme, globex = library.brands["acme-air"], library.brands["globex-bank"]
    mention("fresh", minutes_ago=5, brand=acme)
    mention("old", minutes_ago=90, brand=acme, channel="facebook")
    mention("bank", minutes_ago=30, brand=globex, status=Mention.Status.DISMISSED)

    assert listed(agent_client) == ["old", "bank", "fresh"]
    assert listed(agent_client, brand="acme-air") == ["old", "fresh"]
    assert listed(agent_client, channel="facebook") == ["old"]
    assert listed(agent_client, status="dismissed") == ["bank"]
    assert listed(agent_client, min_age=60) == ["old"]
    assert listed(agent_client, max_age=45) == ["bank", "fresh"]


def test_a_bad_filter_is_refused(library, agent_client):
    assert agent_client.get(MENTIONS, {"status": "lost"}).status_code == 400
    assert agent_client.get(MENTIONS, {"min_age": "soon"}).status_code == 400


def test_an_unknown_brand_is_refused_naming_it_as_a_push_would_be(library, agent_client):
    answer = agent_client.get(MENTIONS, {"brand": "nope"})

    assert answer.status_code == 400
    assert answer.json() == {"brand": ["Unknown brand 'nope'."]}


def test_a_brand_one_does_not_serve_is_as_unknown_as_one_that_does_not_exist(library, agent):
    library.brands["acme-air"].members.add(agent)
    client = api_client_for(agent)

    assert client.get(MENTIONS, {"brand": "acme-air"}).status_code == 200
    answer = client.get(MENTIONS, {"brand": "globex-bank"})
    assert answer.status_code == 400
    assert answer.json() == {"brand": ["Unknown brand 'globex-bank'."]}


def test_a_mention_whose_task_was_lost_is_answered_by_the_sweep(library, agent_client):
    lost = mention("lost-task", minutes_ago=10, brand=library.brands["acme-air"])
    Mention.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    just_pushed = mention("just-pushed", minutes_ago=0)

    assert mentions_suggest_missed_task() == 1

    lost.refresh_from_db()
    just_pushed.refresh_from_db()
    assert lost.suggestion is not None
    assert just_pushed.suggestion is None


def test_a_mention_whose_suggestions_keep_failing_is_left_to_the_agents(library, monkeypatch, settings):
    from console import services

    failing = mention("failing", minutes_ago=10)
    Mention.objects.filter(pk=failing.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    def broken(**_):
        raise RuntimeError("the engine broke")

    monkeypatch.setattr(services, "suggestion_create", broken)
    for _ in range(settings.CARELINE_SUGGEST_ATTEMPTS):
        assert services.mentions_awaiting_suggestions(older_than=timedelta(minutes=1)) == [failing.pk]
        with pytest.raises(RuntimeError):
            mention_suggest_task(failing.pk)  # as the sweep's task runs on the worker

    failing.refresh_from_db()
    assert failing.suggest_failures == settings.CARELINE_SUGGEST_ATTEMPTS
    assert failing.suggest_error == "RuntimeError: the engine broke"
    assert failing.suggestions_failed
    assert mentions_suggest_missed_task() == 0  # the sweep gives up


def test_a_page_of_mentions_costs_the_same_queries_however_long(library, agent_client, push):
    for number in range(3):
        push(**{**LUGGAGE, "external_id": f"few-{number}"})
    with CaptureQueriesContext(connection) as few:
        agent_client.get(MENTIONS)
    for number in range(12):
        push(**{**LUGGAGE, "external_id": f"many-{number}"})

    with CaptureQueriesContext(connection) as many:
        answer = agent_client.get(MENTIONS)

    assert answer.json()["count"] == 15
    assert all(item["suggestions"] for item in answer.json()["results"])
    assert len(many) == len(few)
