"""Subscriptions over REST: who may manage them, what is refused (naming the field), and that a
secret is never shown back."""

from __future__ import annotations

import socket

import pytest

from tests.engine_fixtures import api_client_for
from tests.factories import BrandFactory
from tests.webhooks.conftest import ALL_EVENTS, SECRET
from webhooks.models import Subscription
from webhooks.services import subscription_create

WEBHOOKS = "/api/v1/webhooks/"
# RFC 6761: never resolves, so nothing is ever sent to it.
PUBLIC_NAME = "https://hooks.careline.invalid/in"


def subscribe(client, **given):
    body = {"url": PUBLIC_NAME, "secret": SECRET, "events": ["mention.created"], **given}
    return client.post(WEBHOOKS, body, format="json")


@pytest.fixture
def brands(db):
    return {"acme": BrandFactory(key="acme-air"), "globex": BrandFactory(key="globex-bank")}


def test_an_editor_subscribes_and_the_secret_is_never_shown_back(editor_client):
    answer = subscribe(editor_client, events=ALL_EVENTS)

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["url"] == PUBLIC_NAME
    assert body["events"] == ALL_EVENTS
    assert (body["secret_hint"], body["brands"], body["active"], body["created_by"]) == (
        SECRET[-4:],
        [],
        True,
        "edith",
    )
    listed = (
        editor_client.get(WEBHOOKS).content.decode()
        + editor_client.get(f"{WEBHOOKS}{body['id']}/").content.decode()
    )
    assert SECRET not in answer.content.decode() + listed
    stored = Subscription.objects.get(pk=body["id"])
    assert SECRET not in stored.secret_encrypted  # encrypted at rest


def test_a_superuser_subscribes(admin_user):
    assert subscribe(api_client_for(admin_user)).status_code == 201


@pytest.mark.parametrize("who", ["agent", "integration_user"])
def test_agents_and_integrations_may_not_touch_webhooks(who, request, editor):
    subscription = subscription_create(
        url=PUBLIC_NAME, secret=SECRET, events=["mention.created"], created_by=editor
    )
    client = api_client_for(request.getfixturevalue(who))

    assert subscribe(client).status_code == 403
    assert client.get(WEBHOOKS).status_code == 403
    assert client.get(f"{WEBHOOKS}{subscription.pk}/").status_code == 403
    assert client.delete(f"{WEBHOOKS}{subscription.pk}/").status_code == 403
    assert client.get(f"{WEBHOOKS}{subscription.pk}/deliveries/").status_code == 403
    assert Subscription.objects.get(pk=subscription.pk).ended_at is None


def test_anonymous_callers_are_refused(anonymous_client):
    assert subscribe(anonymous_client).status_code in (401, 403)


def test_an_editor_ends_a_subscription(editor_client):
    created = subscribe(editor_client).json()

    assert editor_client.delete(f"{WEBHOOKS}{created['id']}/").status_code == 204
    assert editor_client.get(f"{WEBHOOKS}{created['id']}/").status_code == 404
    assert editor_client.get(WEBHOOKS).json()["results"] == []
    ended = Subscription.objects.get()  # kept, with its delivery log, for the admin
    assert (ended.active, ended.ended_at is not None) == (False, True)
    assert editor_client.delete(f"{WEBHOOKS}{created['id']}/").status_code == 404


def test_a_brands_editor_sees_and_ends_only_their_brands_subscriptions(brands, editor, admin_user):
    brands["acme"].members.add(editor)
    mine = subscribe(api_client_for(editor)).json()
    admins = api_client_for(admin_user)
    globex = subscribe(admins, brands=["globex-bank"]).json()
    every_brand = subscribe(admins).json()
    both = subscribe(admins, brands=["acme-air", "globex-bank"]).json()
    client = api_client_for(editor)

    assert mine["brands"] == ["acme-air"]  # their brand by default
    assert [item["id"] for item in client.get(WEBHOOKS).json()["results"]] == [mine["id"]]
    for other in (globex, every_brand, both):
        assert client.get(f"{WEBHOOKS}{other['id']}/").status_code == 404
        assert client.delete(f"{WEBHOOKS}{other['id']}/").status_code == 404
        assert client.get(f"{WEBHOOKS}{other['id']}/deliveries/").status_code == 404
    assert Subscription.objects.count() == 4
    assert len(admins.get(WEBHOOKS).json()["results"]) == 4


def test_a_brands_editor_may_not_subscribe_for_another_brand(brands, editor):
    brands["acme"].members.add(editor)
    answer = subscribe(api_client_for(editor), brands=["globex-bank"])

    assert answer.status_code == 400
    assert "globex-bank" in str(answer.json()["brands"])


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"url": "not a url"}, "url"),
        ({"url": "ftp://files.careline.invalid/in"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://user:pw@hooks.careline.invalid/in"}, "url"),
        ({"url": ""}, "url"),
        ({"url": 42}, "url"),
        ({"events": []}, "events"),
        ({"events": ["mention.deleted"]}, "events"),
        ({"events": "mention.created"}, "events"),
        ({"secret": ""}, "secret"),
        ({"secret": "   "}, "secret"),
        ({"secret": "x" * 201}, "secret"),
        ({"brands": ["no-such-brand"]}, "brands"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_refused_naming_the_field(editor_client, given, field):
    answer = subscribe(editor_client, **given)

    assert answer.status_code == 400, answer.content
    assert field in answer.json()
    assert not Subscription.objects.exists()


def test_a_missing_secret_or_url_is_refused_naming_it(editor_client):
    answer = editor_client.post(WEBHOOKS, {"events": ["mention.created"]}, format="json")

    assert answer.status_code == 400
    assert {"url", "secret"} <= set(answer.json())


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.20/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[fe80::1%25eth9]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        "http://224.0.0.1/hook",
    ],
)
def test_private_addresses_are_refused_naming_the_url(editor_client, url):
    answer = subscribe(editor_client, url=url)

    assert answer.status_code == 400, answer.content
    assert "address" in answer.json()["url"][0]


def test_a_name_resolving_to_a_private_address_is_refused(editor_client, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _resolving_to("10.1.2.3"))
    answer = subscribe(editor_client, url="https://hooks.example.com/in")

    assert answer.status_code == 400
    assert "10.1.2.3 is a private address" in answer.json()["url"][0]


def test_private_addresses_are_allowed_when_the_setting_says_so(editor_client, settings):
    settings.CARELINE_WEBHOOK_ALLOW_PRIVATE = True
    assert subscribe(editor_client, url="http://127.0.0.1:8080/hook").status_code == 201


def test_deliveries_are_listed_per_subscription(editor_client):
    created = subscribe(editor_client).json()
    answer = editor_client.get(f"{WEBHOOKS}{created['id']}/deliveries/")

    assert answer.status_code == 200
    assert answer.json()["results"] == []
    assert editor_client.get(f"{WEBHOOKS}{created['id']}/deliveries/?status=lost").status_code == 400


def test_the_webhooks_are_in_the_openapi_schema(editor_client):
    schema = editor_client.get("/api/schema/?format=json").json()

    assert {"get", "post"} <= set(schema["paths"]["/api/v1/webhooks/"])
    assert {"get", "delete"} <= set(schema["paths"]["/api/v1/webhooks/{id}/"])
    assert "/api/v1/webhooks/{id}/deliveries/" in schema["paths"]
    assert "secret" in schema["components"]["schemas"]["SubscriptionInputRequest"]["properties"]


def _resolving_to(address):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return getaddrinfo
