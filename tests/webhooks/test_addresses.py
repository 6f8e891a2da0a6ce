"""The private-address rule holds at delivery time too: a receiver whose name now resolves to a
private address (DNS rebinding) gets nothing, and a delivery connects to the address checked."""

from __future__ import annotations

import socket

import pytest

from console.services import mention_receive
from tests.webhooks.conftest import SECRET
from webhooks.models import Delivery
from webhooks.services import subscription_create

REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def push(django_capture_on_commit_callbacks):
    def push(external_id="t-1"):
        with django_capture_on_commit_callbacks(execute=True):
            return mention_receive(text="my bag is lost", external_id=external_id, channel="twitter")[0]

    return push


def resolving(name, address):
    """The system resolver, except that ``name`` resolves to ``address``."""

    def getaddrinfo(host, port, *args, **kwargs):
        if host == name:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    return getaddrinfo


def test_a_receiver_allowed_then_disallowed_is_refused_at_delivery(editor, receiver, settings, push):
    settings.CARELINE_WEBHOOK_ALLOW_PRIVATE = True
    subscription_create(url=receiver.url, secret=SECRET, events=["mention.created"], created_by=editor)
    settings.CARELINE_WEBHOOK_ALLOW_PRIVATE = False
    push()

    delivery = Delivery.objects.get()
    assert receiver.received == []
    assert delivery.status == "pending"
    assert (
        delivery.last_error
        == "Refused: 127.0.0.1 is a loopback address; webhooks reach public addresses only."
    )


def test_a_name_that_rebinds_to_loopback_after_subscribing_gets_nothing(editor, receiver, monkeypatch, push):
    monkeypatch.setattr(socket, "getaddrinfo", resolving("hooks.example.com", "93.184.215.14"))
    subscription_create(
        url=f"http://hooks.example.com:{receiver.port}/hooks/careline",
        secret=SECRET,
        events=["mention.created"],
        created_by=editor,
    )
    monkeypatch.setattr(socket, "getaddrinfo", resolving("hooks.example.com", "127.0.0.1"))
    push()

    assert receiver.received == []
    assert "127.0.0.1 is a loopback address" in Delivery.objects.get().last_error


def test_a_delivery_connects_to_the_address_resolved_and_names_the_host(
    editor, receiver, settings, monkeypatch, push
):
    settings.CARELINE_WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setattr(socket, "getaddrinfo", resolving("receiver.careline.test", "127.0.0.1"))
    subscription_create(
        url=f"http://receiver.careline.test:{receiver.port}/hooks/careline?source=careline",
        secret=SECRET,
        events=["mention.created"],
        created_by=editor,
    )
    push()

    (received,) = receiver.received
    assert received.headers["Host"] == f"receiver.careline.test:{receiver.port}"
    assert received.path == "/hooks/careline?source=careline"
    assert Delivery.objects.get().status == "delivered"


def test_a_name_that_does_not_resolve_is_accepted_and_retried(editor, push):
    subscription_create(
        url="https://hooks.careline.invalid/in", secret=SECRET, events=["mention.created"], created_by=editor
    )
    push()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "could not be resolved" in delivery.last_error
