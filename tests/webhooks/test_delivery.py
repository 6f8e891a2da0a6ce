"""Deliveries reach a real local receiver: every event once, signed, in order per mention, even
after the receiver was down for part of the run; failures are logged and retried with backoff."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from console.models import Mention
from console.services import mention_receive
from tests.engine_fixtures import api_client_for
from tests.webhooks.conftest import ALL_EVENTS, SECRET, verify_signature
from webhooks.models import Delivery, Subscription
from webhooks.tasks import deliveries_send_due_task

MENTIONS = "/api/v1/mentions/"
WEBHOOKS = "/api/v1/webhooks/"


@pytest.fixture(autouse=True)
def _engine(engine):
    """The fake embedder and a clean served index, never the real model."""


@pytest.fixture
def subscribed(allow_private, editor_client, receiver):
    answer = editor_client.post(
        WEBHOOKS, {"url": receiver.url, "secret": SECRET, "events": ALL_EVENTS}, format="json"
    )
    assert answer.status_code == 201, answer.content
    return answer.json()


@pytest.fixture
def inbox(library, integration_client, agent_client, django_capture_on_commit_callbacks):
    """Pushes mentions and works them over the API, letting each commit's callbacks run."""

    class Inbox:
        def push(self, external_id: str, text: str = "@AcmeAir the airline lost my luggage") -> int:
            with django_capture_on_commit_callbacks(execute=True):
                answer = integration_client.post(
                    MENTIONS,
                    {
                        "text": text,
                        "external_id": external_id,
                        "brand": "acme-air",
                        "author": {"name": "Jane"},
                    },
                    format="json",
                )
            assert answer.status_code == 201, answer.content
            return answer.json()["id"]

        def act(self, mention_id: int, verb: str, **data) -> dict:
            with django_capture_on_commit_callbacks(execute=True):
                answer = agent_client.post(f"{MENTIONS}{mention_id}/{verb}/", data, format="json")
            assert answer.status_code == 200, answer.content
            return answer.json()

        def sweep(self) -> int:
            with django_capture_on_commit_callbacks(execute=True):
                return deliveries_send_due_task()

    return Inbox()


def test_each_event_arrives_signed_with_the_mention_as_the_api_shows_it(
    subscribed, inbox, receiver, editor_client
):
    mention_id = inbox.push("t-1")
    draft = Mention.objects.get(pk=mention_id).suggestion.shown[0]["response"]
    inbox.act(mention_id, "answer", text="Sorry Jane, please DM us your booking number.", response=draft)

    assert receiver.events == [
        (mention_id, "mention.created"),
        (mention_id, "mention.suggestions_ready"),
        (mention_id, "mention.answered"),
    ]
    for item in receiver.received:
        assert item.path == "/hooks/careline"
        assert item.headers["Content-Type"] == "application/json"
        assert verify_signature(item.headers["Careline-Signature"], item.body, SECRET)
        assert not verify_signature(item.headers["Careline-Signature"], item.body, "another secret")
        assert item.headers["Careline-Delivery"] == item.json["id"]
    created, ready, answered = (item.json for item in receiver.received)
    assert created["data"]["mention"]["suggestions_ready"] is False
    assert ready["data"]["mention"]["suggestions_ready"] is True
    assert ready["data"]["mention"]["suggestions"][0]["response"] == draft
    as_api_shows_it = editor_client.get(f"{MENTIONS}{mention_id}/").json()
    assert answered["data"]["mention"] == as_api_shows_it
    assert answered["data"]["reply"] == {
        "text": "Sorry Jane, please DM us your booking number.",
        "response": draft,
        "agent": "sam",
    }
    assert timezone.datetime.fromisoformat(answered["created_at"]) <= timezone.now()
    assert len({item.json["id"] for item in receiver.received}) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_dismissed_and_escalated_events_say_who_acted(subscribed, inbox, receiver, editor):
    first = inbox.push("t-1")
    second = inbox.push("t-2", "@AcmeAir my bag is gone and I want compensation")
    inbox.act(first, "dismiss", reason="spam")
    inbox.act(second, "escalate", lead=editor.username, note="Wants compensation")

    last = {event: item.json for item, (_, event) in zip(receiver.received, receiver.events, strict=True)}
    assert last["mention.dismissed"]["data"]["agent"] == "sam"
    assert last["mention.dismissed"]["data"]["mention"]["dismiss_reason"] == "spam"
    escalated = last["mention.escalated"]["data"]
    assert (escalated["agent"], escalated["lead"]) == ("sam", "edith")
    assert escalated["mention"]["escalation_note"] == "Wants compensation"


def test_a_receiver_down_for_a_while_gets_every_event_once_in_order_per_mention(
    subscribed, inbox, receiver, settings
):
    settings.CARELINE_WEBHOOK_BACKOFF_SECONDS = 0  # retried at each sweep, not minutes apart
    receiver.down()
    first = inbox.push("t-1")
    second = inbox.push("t-2", "@AcmeAir where is my suitcase")
    inbox.act(first, "answer", text="We are on it, Jane.")
    inbox.act(second, "dismiss", reason="handled by phone")
    for _ in range(3):  # the beat sweeps while the receiver is still down
        inbox.sweep()

    assert receiver.received == []
    heads = Delivery.objects.filter(event="mention.created")
    assert {(d.status, d.attempts, d.last_status_code) for d in heads} == {("pending", 4, None)}
    assert all("Could not connect" in d.last_error for d in heads)
    waiting = Delivery.objects.exclude(event="mention.created")
    assert {d.attempts for d in waiting} == {0}  # a mention's later events wait their turn

    receiver.mode = "error"
    receiver.up()
    inbox.sweep()
    assert [event for _, event in receiver.events] == ["mention.created", "mention.created"]
    assert {d.last_status_code for d in heads.all()} == {500}

    receiver.mode = "ok"
    receiver.received.clear()
    inbox.sweep()
    inbox.sweep()  # nothing left to send: nothing arrives twice

    expected = ["mention.created", "mention.suggestions_ready"]
    assert [event for mention, event in receiver.events if mention == first] == [
        *expected,
        "mention.answered",
    ]
    assert [event for mention, event in receiver.events if mention == second] == [
        *expected,
        "mention.dismissed",
    ]
    ids = [item.json["id"] for item in receiver.received]
    assert len(ids) == len(set(ids)) == 6
    assert all(verify_signature(r.headers["Careline-Signature"], r.body, SECRET) for r in receiver.received)
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_a_retry_sends_the_same_id_and_body(subscribed, inbox, receiver, settings):
    settings.CARELINE_WEBHOOK_BACKOFF_SECONDS = 0
    receiver.mode = "error"
    inbox.push("t-1")
    receiver.mode = "ok"
    inbox.sweep()

    first, second = receiver.received[:2]
    assert first.body == second.body
    assert first.json["event"] == "mention.created"


def test_a_failed_attempt_is_retried_later_with_growing_backoff(subscribed, inbox, receiver):
    receiver.mode = "error"
    inbox.push("t-1")
    delivery = Delivery.objects.get(event="mention.created")
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.last_error == "Answered 500."
    waits = delivery.next_attempt_at - delivery.last_attempt_at
    assert timedelta(seconds=15) <= waits <= timedelta(seconds=30)

    assert inbox.sweep() == 0  # not due yet
    assert len(receiver.received) == 1

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    inbox.sweep()
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert (
        timedelta(seconds=30) <= delivery.next_attempt_at - delivery.last_attempt_at <= timedelta(seconds=60)
    )


def test_no_answer_within_the_timeout_is_a_failed_attempt(subscribed, inbox, receiver, settings):
    settings.CARELINE_WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.mode, receiver.delay = "slow", 1.5
    inbox.push("t-1")

    delivery = Delivery.objects.get(event="mention.created")
    assert (delivery.status, delivery.last_status_code) == ("pending", None)
    assert delivery.last_error == "No answer within 1 s."


def test_after_the_last_attempt_a_delivery_is_failed_and_the_mentions_next_event_goes(
    subscribed, inbox, receiver, settings
):
    settings.CARELINE_WEBHOOK_BACKOFF_SECONDS = 0
    settings.CARELINE_WEBHOOK_ATTEMPTS = 3
    receiver.mode = "error"
    inbox.push("t-1")
    inbox.sweep()
    inbox.sweep()

    created = Delivery.objects.get(event="mention.created")
    assert (created.status, created.attempts, created.next_attempt_at) == ("failed", 3, None)
    ready = Delivery.objects.get(event="mention.suggestions_ready")
    assert (ready.status, ready.attempts) == ("pending", 1)  # no longer held back
    assert [event for _, event in receiver.events] == ["mention.created"] * 3 + ["mention.suggestions_ready"]


def test_only_the_events_subscribed_to_are_sent(allow_private, editor_client, receiver, inbox):
    editor_client.post(
        WEBHOOKS, {"url": receiver.url, "secret": SECRET, "events": ["mention.answered"]}, format="json"
    )
    mention_id = inbox.push("t-1")
    inbox.act(mention_id, "answer", text="Thanks!")

    assert receiver.events == [(mention_id, "mention.answered")]


def test_a_paused_subscription_records_nothing_new(subscribed, inbox, receiver):
    Subscription.objects.filter(pk=subscribed["id"]).update(active=False)
    inbox.push("t-1")

    assert receiver.received == []
    assert not Delivery.objects.exists()


def test_a_brands_editor_receives_only_that_brands_mentions(
    allow_private, library, receiver, inbox, editor, django_capture_on_commit_callbacks
):
    library.brands["acme-air"].members.add(editor)
    subscription = api_client_for(editor).post(
        WEBHOOKS, {"url": receiver.url, "secret": SECRET, "events": ["mention.created"]}, format="json"
    )
    assert subscription.json()["brands"] == ["acme-air"]
    acme = inbox.push("t-1")
    with django_capture_on_commit_callbacks(execute=True):
        mention_receive(
            text="my card was charged twice",
            external_id="g-1",
            channel="twitter",
            brand=library.brands["globex-bank"],
        )

    assert receiver.events == [(acme, "mention.created")]


def test_nothing_is_lost_when_the_broker_is_down_the_sweep_sends_it(subscribed, library, receiver, inbox):
    # Committed without its callbacks ever running, as when queueing the task failed.
    mention, _ = mention_receive(text="@AcmeAir lost my bag", external_id="t-9", channel="twitter")
    assert receiver.received == []
    assert Delivery.objects.filter(mention=mention, status="pending").count() == 1

    inbox.sweep()
    assert receiver.events == [(mention.pk, "mention.created")]


def test_the_body_is_the_exact_bytes_signed(subscribed, inbox, receiver):
    inbox.push("t-1")
    stored = Delivery.objects.get(event="mention.created")
    assert receiver.received[0].body == stored.body.encode()
    assert json.loads(stored.body)["id"] == str(stored.delivery_id)


def test_the_beat_sweeps_for_due_deliveries_more_often_than_the_first_backoff(settings):
    (entry,) = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "webhooks.tasks.deliveries_send_due_task"
    ]
    assert entry["schedule"] <= settings.CARELINE_WEBHOOK_BACKOFF_SECONDS


def test_an_ended_subscription_gets_nothing_more_and_keeps_its_log(
    subscribed, inbox, receiver, editor_client
):
    receiver.down()
    inbox.push("t-1")
    assert editor_client.delete(f"{WEBHOOKS}{subscribed['id']}/").status_code == 204
    receiver.up()
    inbox.push("t-2", "@AcmeAir where is my suitcase")
    inbox.sweep()

    assert receiver.received == []
    log = Delivery.objects.filter(subscription_id=subscribed["id"])
    assert {(d.status, d.last_error) for d in log} == {("failed", "The subscription was ended.")}
    assert log.count() == 2  # the first mention's created and suggestions_ready events
