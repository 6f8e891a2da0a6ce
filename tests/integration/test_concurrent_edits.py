"""Two editors saving one response at the same moment, as two real HTTP requests against a live
server on PostgreSQL: with If-Match exactly one wins and the other is told who beat them; without
one, neither loses the other's field; and a retirement racing an edit always ends retired."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.utils.crypto import get_random_string

from kb import services
from kb.models import Response
from tests.factories import UserFactory

TRIES = 10
TEXT = "Sorry {{ customer_name|default:'there' }}, please DM us. ^{{ agent_initials }}"


def editor_session(username: str) -> requests.Session:
    """An editor's browser session: logged in, with a CSRF token (the API takes sessions too)."""
    user = UserFactory(username=username, first_name=username.title(), is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
    token = get_random_string(32)
    session.cookies.set(settings.CSRF_COOKIE_NAME, token)
    session.headers["X-CSRFToken"] = token
    return session


@pytest.fixture
def editors(real_services):
    return editor_session("edith"), editor_session("olga")


@pytest.fixture
def issue(real_services):
    brand = services.brand_create(key="acme-air", name="Acme Air", handle="@AcmeAir")
    return services.issue_create(key="lost-bag", title="Lost bag", brand=brand)


def approved_response(issue: Any, n: int) -> Response:
    # As the command line creates it: straight into approved.
    return services.response_create(
        issue=issue, key=f"bag-sorry-{n}", text=TEXT, channel="twitter", status=Response.Status.APPROVED
    )


def at_once(*calls: Callable[[], requests.Response]) -> list[requests.Response]:
    """Send the requests together: every thread waits at a barrier, then fires."""
    barrier = threading.Barrier(len(calls))

    def fire(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(fire, calls))


def test_patch_against_patch_with_if_match_one_wins_the_other_is_412(live_server, editors, issue):
    edith, olga = editors
    for n in range(TRIES):
        response = approved_response(issue, n)
        url = f"{live_server.url}/api/v1/responses/{response.pk}/"
        tag = edith.get(url, timeout=30).headers["ETag"]

        answers = at_once(
            partial(edith.patch, url, json={"language": "de"}, headers={"If-Match": tag}, timeout=30),
            partial(olga.patch, url, json={"channel": "facebook"}, headers={"If-Match": tag}, timeout=30),
        )

        codes = sorted(answer.status_code for answer in answers)
        assert codes == [200, 412], [answer.text for answer in answers]
        won, lost = sorted(answers, key=lambda answer: answer.status_code)
        stored = Response.objects.get(pk=response.pk)
        assert stored.version == 2
        # Only the winner's field changed; the loser is told who won and when.
        assert (stored.language, stored.channel) in {("de", "twitter"), ("en", "facebook")}
        winner = "edith" if stored.language == "de" else "olga"
        assert lost.json()["changed_by"] == winner
        assert lost.json()["version"] == 2
        assert won.headers["ETag"] == f'"{response.pk}-2"'


def test_patch_against_patch_without_a_precondition_loses_no_field(live_server, editors, issue):
    edith, olga = editors
    for n in range(TRIES):
        response = approved_response(issue, n)
        url = f"{live_server.url}/api/v1/responses/{response.pk}/"

        answers = at_once(
            partial(edith.patch, url, json={"language": "de"}, timeout=30),
            partial(olga.patch, url, json={"channel": "facebook"}, timeout=30),
        )

        assert [answer.status_code for answer in answers] == [200, 200]
        stored = Response.objects.get(pk=response.pk)
        assert (stored.language, stored.channel) == ("de", "facebook"), f"try {n}: a field was lost"
        assert stored.version == 3


def test_a_retirement_racing_an_edit_always_ends_retired(live_server, editors, issue):
    edith, olga = editors
    for n in range(TRIES):
        response = approved_response(issue, n)
        url = f"{live_server.url}/api/v1/responses/{response.pk}/"

        edit, retire = at_once(
            partial(edith.patch, url, json={"text": TEXT + " Thanks!"}, timeout=30),
            partial(olga.patch, url, json={"status": "retired"}, timeout=30),
        )

        assert retire.status_code == 200, retire.text
        assert edit.status_code == 200, edit.text
        stored = Response.objects.get(pk=response.pk)
        assert stored.status == "retired", f"try {n}: a retired response came back {stored.status}"
        assert stored.text == TEXT + " Thanks!"


def test_a_stale_put_racing_a_retirement_never_brings_it_back(live_server, editors, issue):
    edith, olga = editors
    for n in range(TRIES):
        response = approved_response(issue, n)
        url = f"{live_server.url}/api/v1/responses/{response.pk}/"
        whole = edith.get(url, timeout=30).json()
        body = {key: whole[key] for key in ("key", "issue", "channel", "language", "status")}

        put, retire = at_once(
            partial(edith.put, url, json={**body, "text": TEXT + " Thanks!"}, timeout=30),
            partial(olga.delete, url, timeout=30),
        )

        assert retire.status_code == 204, retire.text
        # The PUT restates "approved": after the retirement that is a step the lifecycle lacks.
        assert put.status_code in (200, 400), put.text
        assert Response.objects.get(pk=response.pk).status == "retired", f"try {n}"
