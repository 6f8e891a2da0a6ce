"""OAuth 2.0 access tokens of X accounts expire (after two hours): one given with its refresh
token is renewed before it runs out, the refresh token X hands back kept for the next time (each
is good for one use); a refresh token X refuses leaves the account needing re-authorisation."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from config.crypto import secret_decrypt
from connectors.models import XConnection
from connectors.services import connection_create
from connectors.tasks import mentions_poll_task
from console.models import Mention
from tests.connectors.fake_x import BRAND_ID, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN


@pytest.fixture
def x_app(settings):
    """The X app's OAuth 2.0 client (confidential: with a secret)."""
    settings.CARELINE_X_CLIENT_ID, settings.CARELINE_X_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET


@pytest.fixture
def renewable(library, fake_x, admin_user, x_app) -> XConnection:
    """Acme Air's account, given only its refresh token."""
    return connection_create(
        brand=library.brands["acme-air"],
        account_id=BRAND_ID,
        refresh_token=REFRESH_TOKEN,
        created_by=admin_user,
    )


def polled(connection: XConnection, capture) -> int:
    with capture(execute=True):
        return mentions_poll_task(connection.pk)


def test_a_refresh_token_gets_the_first_access_token_and_is_replaced_by_the_next(
    renewable, fake_x, django_capture_on_commit_callbacks
):
    fake_x.mention("my bag never arrived")

    assert polled(renewable, django_capture_on_commit_callbacks) == 1

    grant = fake_x.calls_to("POST", "/2/oauth2/token")[0]
    assert grant.body == {
        "grant_type": "refresh_token",
        "refresh_token": REFRESH_TOKEN,
        "client_id": CLIENT_ID,
    }
    assert (
        grant.authorization == "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    )
    renewable.refresh_from_db()
    access = secret_decrypt(renewable.token_encrypted)
    assert fake_x.calls_to("GET", "/mentions")[0].authorization == f"Bearer {access}"
    assert secret_decrypt(renewable.refresh_token_encrypted) in fake_x.refresh_tokens
    assert REFRESH_TOKEN not in fake_x.refresh_tokens  # spent
    assert renewable.token_expires_at > timezone.now() + timedelta(hours=1, minutes=59)


def test_a_fresh_access_token_is_used_as_it_is(renewable, fake_x, django_capture_on_commit_callbacks):
    polled(renewable, django_capture_on_commit_callbacks)
    fake_x.mention("my bag never arrived")

    assert polled(renewable, django_capture_on_commit_callbacks) == 1

    assert len(fake_x.calls_to("POST", "/2/oauth2/token")) == 1


def test_an_access_token_about_to_expire_is_renewed_before_the_call(
    renewable, fake_x, django_capture_on_commit_callbacks
):
    polled(renewable, django_capture_on_commit_callbacks)
    renewable.refresh_from_db()
    fake_x.expire(secret_decrypt(renewable.token_encrypted))
    XConnection.objects.filter(pk=renewable.pk).update(
        token_expires_at=timezone.now() + timedelta(seconds=30)
    )
    fake_x.mention("my bag never arrived")

    assert polled(renewable, django_capture_on_commit_callbacks) == 1

    assert len(fake_x.calls_to("POST", "/2/oauth2/token")) == 2
    renewable.refresh_from_db()
    assert renewable.status == XConnection.Status.ACTIVE


def test_a_refused_refresh_token_needs_reauthorisation(
    renewable, fake_x, django_capture_on_commit_callbacks, caplog
):
    fake_x.refresh_tokens.clear()
    fake_x.mention("my bag never arrived")

    with caplog.at_level(logging.DEBUG):
        assert polled(renewable, django_capture_on_commit_callbacks) == 0

    renewable.refresh_from_db()
    assert renewable.status == XConnection.Status.NEEDS_REAUTH
    assert "refused the refresh token" in renewable.last_error
    assert REFRESH_TOKEN not in caplog.text
    assert not Mention.objects.exists()


def test_a_refresh_token_needs_the_apps_client_id(library, admin_user, settings):
    settings.CARELINE_X_CLIENT_ID = ""

    with pytest.raises(ValidationError) as refused:
        connection_create(
            brand=library.brands["acme-air"],
            account_id=BRAND_ID,
            refresh_token=REFRESH_TOKEN,
            created_by=admin_user,
        )

    assert "CARELINE_X_CLIENT_ID" in refused.value.message_dict["refresh_token"][0]
