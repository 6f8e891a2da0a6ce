"""Webhook deliveries through the real broker and worker: a receiver down when the events happen
gets every one once the worker's retries find it up, signed, in order per mention."""

from __future__ import annotations

import time

import pytest

from console.models import Mention
from tests.engine_fixtures import api_client_for
from tests.integration.conftest import Worker, wait_for
from tests.webhooks.conftest import SECRET, verify_signature
from tests.webhooks.conftest import receiver as receiver  # the local receiver fixture
from webhooks.models import Delivery
from webhooks.services import subscription_create
from webhooks.tasks import deliveries_send_due_task

EVENTS = ["mention.created", "mention.answered", "mention.dismissed"]


@pytest.fixture
def webhook_worker(real_services, tmp_path, monkeypatch, settings):
    """A worker that may reach the loopback receiver and retries a second apart at first."""
    settings.CARELINE_WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setenv("CARELINE_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("CARELINE_WEBHOOK_BACKOFF_SECONDS", "1")
    monkeypatch.setenv("CARELINE_WEBHOOK_BACKOFF_MAX_SECONDS", "2")
    running = Worker(tmp_path / "worker.log")
    running.start()
    yield running
    running.stop()


def test_a_receiver_down_while_events_happen_gets_each_once_in_order(
    webhook_worker, receiver, editor, agent, integration_client
):
    subscription_create(url=receiver.url, secret=SECRET, events=EVENTS, created_by=editor)
    receiver.down()
    pushed = []
    for n, text in enumerate(["@AcmeAir my bag never arrived", "@AcmeAir cancelled again??"]):
        answer = integration_client.post(
            "/api/v1/mentions/", {"text": text, "external_id": f"wh-{n}"}, format="json"
        )
        assert answer.status_code == 201, answer.content
        pushed.append(answer.json()["id"])
    agents = api_client_for(agent)
    answered = agents.post(f"/api/v1/mentions/{pushed[0]}/answer/", {"text": "Sorry, DM us."}, format="json")
    dismissed = agents.post(f"/api/v1/mentions/{pushed[1]}/dismiss/", {"reason": "spam"}, format="json")
    assert (answered.status_code, dismissed.status_code) == (200, 200)

    # The worker has tried the first events and found nobody; the later ones wait their turn.
    wait_for(lambda: Delivery.objects.filter(event="mention.created", attempts__gte=1).count() == 2, 30)
    assert receiver.received == []
    assert not Delivery.objects.filter(status="delivered").exists()

    receiver.up()
    came_back = time.monotonic()

    def all_delivered() -> bool:
        deliveries_send_due_task.delay()  # as the beat does every few seconds
        return Delivery.objects.filter(status="delivered").count() == 4

    done = wait_for(all_delivered, 60)
    print(f"4 deliveries caught up {done - came_back:.1f} s after the receiver came back")

    time.sleep(2)  # any duplicate would arrive now
    first, second = pushed
    expected = [(first, "mention.created"), (first, "mention.answered")]
    expected += [(second, "mention.created"), (second, "mention.dismissed")]
    assert sorted(receiver.events) == sorted(expected)
    for mention_id, last in zip(pushed, ["mention.answered", "mention.dismissed"], strict=True):
        assert [event for m, event in receiver.events if m == mention_id] == ["mention.created", last]
    assert all(verify_signature(r.headers["Careline-Signature"], r.body, SECRET) for r in receiver.received)
    assert Mention.objects.get(pk=pushed[0]).status == "answered"
