"""Connecting a brand's X account in the admin: the token is write-only (kept encrypted, shown
back only as its last characters, never in a page or a log), a refused one shows as needing
re-authorisation until a new one is given, and only administrators reach any of it."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from config.crypto import secret_decrypt
from connectors.models import XConnection
from tests.connectors.fake_x import BRAND_ID, TOKEN

ADD = "/admin/connectors/xconnection/add/"
LIST = "/admin/connectors/xconnection/"


@pytest.fixture
def admin_browser(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_an_administrator_connects_an_account_and_sees_only_the_tokens_hint(library, admin_browser, caplog):
    brand = library.brands["acme-air"]

    with caplog.at_level(logging.DEBUG):
        answer = admin_browser.post(
            ADD, {"brand": brand.pk, "account_id": BRAND_ID, "account_username": "@AcmeAir", "token": TOKEN}
        )

    assert answer.status_code == 302, answer.content.decode()[:3000]
    connection = XConnection.objects.get()
    assert (connection.account_username, connection.status) == ("AcmeAir", XConnection.Status.ACTIVE)
    assert TOKEN not in connection.token_encrypted
    assert secret_decrypt(connection.token_encrypted) == TOKEN
    change = admin_browser.get(f"{LIST}{connection.pk}/change/").content.decode()
    assert f"…{TOKEN[-4:]}" in change
    assert TOKEN not in change
    assert TOKEN not in admin_browser.get(LIST).content.decode()
    assert TOKEN not in caplog.text


def test_the_admin_refuses_a_handle_for_the_account_id_and_no_token(library, admin_browser):
    answer = admin_browser.post(ADD, {"brand": library.brands["acme-air"].pk, "account_id": "@AcmeAir"})

    html = answer.content.decode()
    assert answer.status_code == 200
    assert "numeric X user id" in html
    assert "Give the account&#x27;s access token" in html
    assert not XConnection.objects.exists()


def test_a_brand_has_one_account(connection, admin_browser):
    answer = admin_browser.post(ADD, {"brand": connection.brand.pk, "account_id": "123", "token": "t"})

    assert "already has an X account connected" in answer.content.decode()


def test_a_new_token_reconnects_an_account_needing_reauthorisation(connection, admin_browser, fake_x, poll):
    fake_x.revoke()
    poll()
    assert "Needs re-authorisation" in admin_browser.get(LIST).content.decode()

    fake_x.tokens.add("fresh-token-9911")
    answer = admin_browser.post(
        f"{LIST}{connection.pk}/change/", {"account_username": "AcmeAir", "token": "fresh-token-9911"}
    )

    assert answer.status_code == 302, answer.content.decode()[:3000]
    connection.refresh_from_db()
    assert connection.status == XConnection.Status.ACTIVE
    assert secret_decrypt(connection.token_encrypted) == "fresh-token-9911"


def test_saving_without_a_new_token_keeps_the_old_one(connection, admin_browser):
    answer = admin_browser.post(f"{LIST}{connection.pk}/change/", {"account_username": "AcmeAirHelp"})

    assert answer.status_code == 302
    connection.refresh_from_db()
    assert connection.account_username == "AcmeAirHelp"
    assert secret_decrypt(connection.token_encrypted) == TOKEN


def test_reading_mentions_now_from_the_admin(connection, admin_browser, fake_x):
    fake_x.mention("my bag never arrived")

    answer = admin_browser.post(
        LIST, {"action": "poll_selected", "_selected_action": [connection.pk]}, follow=True
    )

    assert "1 new mention." in answer.content.decode()


def test_editors_and_agents_do_not_reach_connections(connection, editor, agent):
    for person in (editor, agent):
        client = Client()
        client.force_login(person)
        assert client.get(LIST).status_code in (302, 403)
        assert client.get(f"{LIST}{connection.pk}/change/").status_code in (302, 403)


def test_a_refresh_token_is_kept_encrypted_and_said_to_renew_the_token(library, admin_browser, settings):
    settings.CARELINE_X_CLIENT_ID = "careline-x-app"

    answer = admin_browser.post(
        ADD, {"brand": library.brands["acme-air"].pk, "account_id": BRAND_ID, "refresh_token": "refresh-4242"}
    )

    assert answer.status_code == 302, answer.content.decode()[:3000]
    connection = XConnection.objects.get()
    assert secret_decrypt(connection.refresh_token_encrypted) == "refresh-4242"
    page = admin_browser.get(f"{LIST}{connection.pk}/change/").content.decode()
    assert "renewed by its refresh token" in page
    assert "refresh-4242" not in page
