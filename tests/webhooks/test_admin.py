"""Webhooks in the admin: subscribing through the same rules as the API, the secret never
shown back, and the delivery log an editor reads and redelivers from."""

from __future__ import annotations

import pytest
from django.test import Client

from console.services import mention_receive
from tests.factories import BrandFactory
from tests.webhooks.conftest import SECRET
from webhooks.models import Delivery, Subscription
from webhooks.services import subscription_create

ADD = "/admin/webhooks/subscription/add/"
DELIVERIES = "/admin/webhooks/delivery/"


@pytest.fixture
def editor_browser(editor):
    client = Client()
    client.force_login(editor)
    return client


def test_an_editor_subscribes_in_the_admin_and_sees_only_the_hint(editor_browser, allow_private, receiver):
    answer = editor_browser.post(
        ADD, {"url": receiver.url, "secret": SECRET, "events": ["mention.created", "mention.answered"]}
    )

    assert answer.status_code == 302, answer.content.decode()[:2000]
    subscription = Subscription.objects.get()
    assert subscription.events == ["mention.created", "mention.answered"]
    assert subscription.created_by.username == "edith"
    page = editor_browser.get(f"/admin/webhooks/subscription/{subscription.pk}/change/").content.decode()
    assert f"…{SECRET[-4:]}" in page
    assert SECRET not in page
    assert SECRET not in editor_browser.get("/admin/webhooks/subscription/").content.decode()


def test_the_admin_refuses_a_private_address_naming_it(editor_browser):
    answer = editor_browser.post(
        ADD, {"url": "http://127.0.0.1:9/x", "secret": SECRET, "events": ["mention.created"]}
    )

    assert answer.status_code == 200
    assert "127.0.0.1 is a loopback address" in answer.content.decode()
    assert not Subscription.objects.exists()


def test_agents_do_not_reach_the_webhooks_admin(agent):
    client = Client()
    client.force_login(agent)

    assert client.get(DELIVERIES).status_code in (302, 403)
    assert client.get(ADD).status_code in (302, 403)


def test_a_failed_delivery_is_shown_and_redelivered_from_the_admin(
    editor, editor_browser, allow_private, receiver, settings, django_capture_on_commit_callbacks
):
    settings.CARELINE_WEBHOOK_ATTEMPTS = 1
    subscription_create(url=receiver.url, secret=SECRET, events=["mention.created"], created_by=editor)
    receiver.mode = "error"
    with django_capture_on_commit_callbacks(execute=True):
        mention_receive(text="my bag is lost", external_id="t-1", channel="twitter")
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("failed", 500)

    listing = editor_browser.get(DELIVERIES).content.decode()
    assert "mention.created" in listing and "Answered 500." in listing
    assert "redeliver_selected" in listing
    detail = editor_browser.get(f"{DELIVERIES}{delivery.pk}/change/").content.decode()
    assert str(delivery.delivery_id) in detail

    receiver.mode = "ok"
    with django_capture_on_commit_callbacks(execute=True):
        answer = editor_browser.post(
            DELIVERIES, {"action": "redeliver_selected", "_selected_action": [delivery.pk]}
        )
    assert answer.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert [item.json["id"] for item in receiver.received] == [str(delivery.delivery_id)] * 2


def test_a_brands_editor_sees_only_their_brands_deliveries(editor, admin_user, allow_private, receiver):
    acme, globex = BrandFactory(key="acme-air"), BrandFactory(key="globex-bank")
    theirs = subscription_create(
        url=receiver.url, secret=SECRET, events=["mention.created"], created_by=admin_user, brands=[globex]
    )
    acme.members.add(editor)
    client = Client()
    client.force_login(editor)

    assert client.get(f"/admin/webhooks/subscription/{theirs.pk}/change/").status_code in (302, 404)
    assert receiver.url not in client.get("/admin/webhooks/subscription/").content.decode()
