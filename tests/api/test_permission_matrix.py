"""Who may call what: every /api/v1/ endpoint and the console's pages, role by role.

``MAY`` below is the table the README's "what each role may do" is written from: for each
endpoint, the roles that get past the permission check. Every other signed-in role must get 403;
an anonymous caller 401 from the API and the login page from the console. "Past the permission
check" means any answer but 401/403 and never a 5xx: 2xx mostly, or a 4xx that is about the
request (404 for a content gap that does not exist, 409 for a brand that still has issues).

Each row is one test. Every request of a row runs in a savepoint rolled back afterwards, so each
role meets the same inbox and library (a mention answered by one role is open for the next)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from console.models import Mention
from tests.engine_fixtures import api_client_for
from tests.factories import UserFactory, request_with_suggestions

ROLES = ("anonymous", "nobody", "agent", "author", "editor", "integration", "superuser")

SIGNED_IN = {"nobody", "agent", "author", "editor", "integration", "superuser"}
LIBRARY_READERS = {"agent", "author", "editor", "superuser"}
LIBRARY_WRITERS = {"author", "editor", "superuser"}
BRAND_WRITERS = {"editor", "superuser"}
ASKERS = {"agent", "author", "editor", "integration", "superuser"}
REPORTERS = {"agent", "editor", "integration", "superuser"}  # feedback: what was sent to a customer
INBOX = {"agent", "editor", "superuser"}
LEADS = {"editor", "superuser"}
PUSHERS = {"integration", "superuser"}
INSIGHTS = {"editor", "superuser"}

NEW_ISSUE = {"key": "new-issue", "title": "A new issue", "brand": "acme-air"}
NEW_EXAMPLE = {"issue": "lost-baggage", "text": "where did my suitcase go"}
NEW_REPLY = {"key": "new-reply", "issue": "lost-baggage", "channel": "twitter", "text": "Sorry! DM us."}
PUSHED = {"text": "@AcmeAir my bag is gone", "external_id": "matrix-1", "brand": "acme-air"}

# "METHOD path": (roles allowed, JSON body). {mention}, {request} (the caller's own suggestion
# request), {brand}, {issue}, {example} and {response} are filled in from the fixture library.
MAY: dict[str, tuple[set[str], dict | None]] = {
    # The library
    "GET /api/v1/brands/": (LIBRARY_READERS, None),
    "GET /api/v1/brands/{brand}/": (LIBRARY_READERS, None),
    "POST /api/v1/brands/": (BRAND_WRITERS, {"key": "initech", "name": "Initech", "handle": "@Initech"}),
    "PATCH /api/v1/brands/{brand}/": (BRAND_WRITERS, {"name": "Acme Airways"}),
    "DELETE /api/v1/brands/{brand}/": (BRAND_WRITERS, None),
    "GET /api/v1/issues/": (LIBRARY_READERS, None),
    "GET /api/v1/issues/{issue}/": (LIBRARY_READERS, None),
    "POST /api/v1/issues/": (LIBRARY_WRITERS, NEW_ISSUE),
    "PATCH /api/v1/issues/{issue}/": (LIBRARY_WRITERS, {"title": "Bag lost or delayed"}),
    "DELETE /api/v1/issues/{issue}/": (LIBRARY_WRITERS, None),
    "GET /api/v1/examples/": (LIBRARY_READERS, None),
    "GET /api/v1/examples/{example}/": (LIBRARY_READERS, None),
    "POST /api/v1/examples/": (LIBRARY_WRITERS, NEW_EXAMPLE),
    "PATCH /api/v1/examples/{example}/": (LIBRARY_WRITERS, {"text": "my suitcase never came off the plane"}),
    "DELETE /api/v1/examples/{example}/": (LIBRARY_WRITERS, None),
    "GET /api/v1/responses/": (LIBRARY_READERS, None),
    "GET /api/v1/responses/{response}/": (LIBRARY_READERS, None),
    "POST /api/v1/responses/": (LIBRARY_WRITERS, NEW_REPLY),
    "PATCH /api/v1/responses/{response}/": (LIBRARY_WRITERS, {"text": "Sorry about your bag! DM us."}),
    "DELETE /api/v1/responses/{response}/": (LIBRARY_WRITERS, None),
    # The engine
    "POST /api/v1/suggestions/": (ASKERS, {"text": "the airline lost my luggage"}),
    "GET /api/v1/suggestions/": (ASKERS, None),
    "GET /api/v1/suggestions/{request}/": (ASKERS, None),
    "POST /api/v1/suggestions/{request}/feedback/": (
        REPORTERS,
        {"response": "lost-baggage-dm", "action": "accepted"},
    ),
    "GET /api/v1/index/": (SIGNED_IN, None),
    "POST /api/v1/index/rebuild/": (LEADS, None),
    # The inbox
    "GET /api/v1/mentions/": (INBOX, None),
    "GET /api/v1/mentions/{mention}/": (INBOX, None),
    "POST /api/v1/mentions/": (PUSHERS, PUSHED),
    "POST /api/v1/mentions/{mention}/take/": (INBOX, {}),
    "POST /api/v1/mentions/{mention}/release/": (INBOX, {}),
    "POST /api/v1/mentions/{mention}/answer/": (INBOX, {"text": "Sorry Jane, DM us your tag."}),
    "POST /api/v1/mentions/{mention}/dismiss/": (INBOX, {"reason": "Spam"}),
    "POST /api/v1/mentions/{mention}/nothing-fits/": (INBOX, {}),
    "POST /api/v1/mentions/{mention}/escalate/": (INBOX, {"lead": "edith", "note": "Wants compensation."}),
    "POST /api/v1/mentions/{mention}/assign/": (LEADS, {"agent": "sam"}),
    # Insights
    "GET /api/v1/analytics/summary/": (INSIGHTS, None),
    "GET /api/v1/analytics/responses/": (INSIGHTS, None),
    "GET /api/v1/analytics/responses.csv": (INSIGHTS, None),
    "GET /api/v1/analytics/issues/": (INSIGHTS, None),
    "GET /api/v1/analytics/issues.csv": (INSIGHTS, None),
    "GET /api/v1/analytics/reliability/": (INSIGHTS, None),
    "GET /api/v1/library-health/": (INSIGHTS, None),
    "GET /api/v1/common-edits/": (INSIGHTS, None),
    "GET /api/v1/gaps/": (INSIGHTS, None),
    "GET /api/v1/gaps/runs/": (INSIGHTS, None),
    "POST /api/v1/gaps/runs/": (LEADS, None),  # editors: insights and adding issues
    "GET /api/v1/gaps/999999/": (INSIGHTS, None),
    "POST /api/v1/gaps/999999/convert/": (LEADS, {"title": "A new issue"}),
    "POST /api/v1/gaps/999999/dismiss/": (LEADS, {}),
    # The console (signed in with a session)
    "GET /": (INBOX, None),
    "GET /mentions/{mention}/": (INBOX, None),
    "GET /paste/": (INBOX, None),
}


@pytest.fixture
def people(agent, author, editor, integration_user, admin_user):
    return {
        "nobody": UserFactory(username="nobody"),
        "agent": agent,
        "author": author,
        "editor": editor,
        "integration": integration_user,
        "superuser": admin_user,
    }


def expected(allowed: set[str], console: bool) -> dict[str, str]:
    def cell(role: str) -> str:
        if role in allowed:
            return "ok"
        if role == "anonymous":
            return "login" if console else "401"
        return "403"

    return {role: cell(role) for role in ROLES}


def seen(status: int, location: str) -> str:
    if status in (401, 403):
        return str(status)
    if status == 302 and "/login/" in location:
        return "login"
    return "ok" if status < 500 else f"{status}!"


@pytest.mark.parametrize("endpoint", list(MAY))
def test_who_may_call_it(endpoint, library, people):
    allowed, body = MAY[endpoint]
    method, template = endpoint.split(" ", 1)
    console = not template.startswith("/api/")
    mention = Mention.objects.create(
        text="@AcmeAir the airline lost my luggage",
        external_id="waiting-1",
        channel="twitter",
        brand=library.brands["acme-air"],
        author_name="Jane",
        received_at=timezone.now(),
    )
    own_request = {
        role: request_with_suggestions([library.responses["lost-baggage-dm"]], requested_by=user).pk
        for role, user in people.items()
    }
    clients = {"anonymous": Client() if console else APIClient()}
    for role, user in people.items():
        if console:
            clients[role] = Client()
            clients[role].force_login(user)
        else:
            clients[role] = api_client_for(user)

    row = {}
    for role in ROLES:
        path = template.format(
            mention=mention.pk,
            request=own_request.get(role, own_request["superuser"]),
            brand=library.brands["globex-bank"].pk,
            issue=library.issues["lost-baggage"].pk,
            example=library.examples["the airline lost my luggage on the connecting flight"].pk,
            response=library.responses["lost-baggage-dm"].pk,
        )
        with transaction.atomic():
            client = clients[role]
            if body is None:
                answer = getattr(client, method.lower())(path)
            else:
                answer = getattr(client, method.lower())(path, body, format="json")
            transaction.set_rollback(True)
        row[role] = seen(answer.status_code, answer.get("Location", ""))

    assert row == expected(allowed, console)
