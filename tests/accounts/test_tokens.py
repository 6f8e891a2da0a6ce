"""API tokens: `manage.py drf_create_token USERNAME` prints a new token that works as
`Authorization: Token KEY`; the database keeps only a hash of it."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from accounts.auth import TokenAuthentication
from accounts.services import token_create
from tests.factories import UserFactory

TOKEN = re.compile(r"\b([0-9a-fA-F]{40,128})\b")  # what integrations and the README pick out


def _create_token(username: str, *args: str) -> str:
    out = io.StringIO()
    call_command("drf_create_token", username, *args, stdout=out)
    match = TOKEN.search(out.getvalue())
    assert match, out.getvalue()
    return match.group(1)


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _every_stored_value() -> str:
    """Every value in every table, as text: where a plain token would show up."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            values.extend(str(value) for row in cursor.fetchall() for value in row)
    return "\n".join(values)


def test_the_command_prints_a_token_the_api_accepts(library, editor):
    token = _create_token("edith")

    answer = _client(token).get("/api/v1/brands/")

    assert answer.status_code == 200
    assert answer.wsgi_request.user == editor


def test_only_a_hash_of_the_token_is_stored(library, editor):
    token = _create_token("edith")

    stored = _every_stored_value()

    assert token not in stored
    assert token[20:] not in stored  # nor most of it


def test_each_run_prints_a_new_token_and_reset_ends_the_old_ones(library, editor):
    first = _create_token("edith")
    second = _create_token("edith")
    assert first != second
    assert _client(first).get("/api/v1/brands/").status_code == 200

    third = _create_token("edith", "--reset")

    assert _client(first).get("/api/v1/brands/").status_code == 401
    assert _client(second).get("/api/v1/brands/").status_code == 401
    assert _client(third).get("/api/v1/brands/").status_code == 200


def test_an_integration_gets_a_token(library):
    feed = UserFactory(username="feed")
    feed.groups.add(Group.objects.get_or_create(name="Integrations")[0])

    token = _create_token("feed")

    assert (
        _client(token)
        .post("/api/v1/suggestions/", {"text": "my bag is lost"}, format="json")
        .wsgi_request.user
        == feed
    )


def test_a_wrong_or_unknown_token_is_refused(library, editor):
    token = _create_token("edith")

    assert _client(token[:-1] + ("0" if token[-1] != "0" else "1")).get("/api/v1/brands/").status_code == 401
    with pytest.raises(CommandError, match="nobody"):
        _create_token("nobody")


def test_upgrading_removes_the_plain_tokens_of_before(transactional_db):
    from importlib import import_module

    migration = import_module("accounts.migrations.0001_remove_plain_tokens")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id integer)")
        cursor.execute("INSERT INTO authtoken_token VALUES ('0123456789abcdef0123456789abcdef01234567', 1)")

    with connection.schema_editor() as editor:
        migration.remove_plain_tokens(None, editor)

    assert "authtoken_token" not in connection.introspection.table_names()


def test_an_admin_creates_an_integrations_token_in_the_admin(library, admin_user, client):
    feed = UserFactory(username="feed")
    feed.groups.add(Group.objects.get_or_create(name="Integrations")[0])
    client.force_login(admin_user)

    added = client.post("/admin/knox/authtoken/add/", {"user": feed.pk, "expiry": ""}, follow=True)
    shown = [str(message) for message in added.context["messages"]]
    token = TOKEN.search(" ".join(shown)).group(1)

    assert _client(token).get("/api/v1/mentions/").wsgi_request.user == feed


def test_a_deleted_token_or_an_inactive_user_is_refused_on_the_next_request(library, editor):
    token = _create_token("edith")
    client = _client(token)
    assert client.get("/api/v1/brands/").status_code == 200

    editor.is_active = False
    editor.save(update_fields=["is_active"])
    assert client.get("/api/v1/brands/").status_code == 401
    editor.is_active = True
    editor.save(update_fields=["is_active"])
    AuthToken.objects.filter(user=editor).delete()

    assert client.get("/api/v1/brands/").status_code == 401


def test_an_expired_token_is_refused_and_deleted(library, editor):
    token = token_create(user=editor, expires_in=timedelta(hours=1))
    AuthToken.objects.filter(user=editor).update(expiry=timezone.now() - timedelta(seconds=1))

    assert _client(token).get("/api/v1/brands/").status_code == 401
    assert not AuthToken.objects.filter(user=editor).exists()


def test_making_a_token_deletes_the_users_expired_ones_and_keeps_the_live(library, editor):
    expired = token_create(user=editor, expires_in=timedelta(hours=1))
    AuthToken.objects.filter(user=editor).update(expiry=timezone.now() - timedelta(seconds=1))
    live = token_create(user=editor, expires_in=timedelta(hours=1))

    newest = token_create(user=editor)

    assert AuthToken.objects.filter(user=editor).count() == 2
    assert _client(live).get("/api/v1/brands/").status_code == 200
    assert _client(newest).get("/api/v1/brands/").status_code == 200
    assert _client(expired).get("/api/v1/brands/").status_code == 401


def test_a_token_is_checked_in_one_query(library, editor, django_assert_num_queries):
    token = _create_token("edith")
    request = APIRequestFactory().get("/api/v1/brands/", HTTP_AUTHORIZATION=f"Token {token}")

    with django_assert_num_queries(1):
        user, _ = TokenAuthentication().authenticate(Request(request))

    assert user == editor
