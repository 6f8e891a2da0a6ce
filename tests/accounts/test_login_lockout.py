"""Guessing passwords: after 5 wrong ones for a username from one address, signing in as that
username from there is refused for 15 minutes, even with the right password, on the console's
login and the admin's alike; the page says why and for how long."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import UserFactory

LOGINS = ["/login/", "/admin/login/"]


@pytest.fixture
def edith(editor):
    editor.set_password("right-password-123")
    editor.save()
    return editor


def _sign_in(client, url: str, password: str, username: str = "edith", address: str = "10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("url", LOGINS)
def test_five_wrong_passwords_lock_the_login_even_for_the_right_one(edith, client, url):
    wrong = [_sign_in(client, url, f"guess-{n}").status_code for n in range(5)]

    locked = _sign_in(client, url, "right-password-123")

    assert wrong == [200, 200, 200, 200, 429]  # the form again with its error, then the lock
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "15 minutes" in locked.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("url", LOGINS)
def test_the_lock_lifts_after_the_cool_off(edith, client, url):
    from axes.models import AccessAttempt

    for n in range(5):
        _sign_in(client, url, f"guess-{n}")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    signed_in = _sign_in(client, url, "right-password-123")

    assert signed_in.status_code == 302
    assert client.session["_auth_user_id"] == str(edith.pk)


def test_one_lockout_covers_both_logins(edith, client):
    for n in range(5):
        _sign_in(client, "/login/", f"guess-{n}")

    assert _sign_in(client, "/admin/login/", "right-password-123").status_code == 429


def test_someone_else_and_another_address_still_sign_in(edith, client):
    UserFactory(username="sam")
    for n in range(5):
        _sign_in(client, "/login/", f"guess-{n}")

    other_user = _sign_in(client, "/login/", "password", username="sam")
    client.logout()
    other_address = _sign_in(client, "/login/", "right-password-123", address="10.0.0.2")

    assert other_user.status_code == 302
    assert other_address.status_code == 302
