"""API rate limits per token: each caller's own count per scope (suggestions have their own), a
429 with Retry-After past it; anonymous callers are counted per address."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.engine_fixtures import api_client_for

BRANDS = "/api/v1/brands/"
SUGGESTIONS = "/api/v1/suggestions/"


@pytest.fixture
def low_rates(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "3/min", "anon": "2/min", "suggestions": "2/min"},
    }
    cache.clear()
    yield
    cache.clear()


def test_a_token_past_its_rate_gets_429_with_retry_after(library, editor, low_rates):
    client = api_client_for(editor)

    answers = [client.get(BRANDS) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert 0 < int(answers[-1]["Retry-After"]) <= 60
    assert "throttled" in answers[-1].json()["detail"].lower()


def test_each_token_has_its_own_count(library, editor, author, low_rates):
    busy = api_client_for(editor)
    for _ in range(3):
        busy.get(BRANDS)

    assert busy.get(BRANDS).status_code == 429
    assert api_client_for(author).get(BRANDS).status_code == 200


def test_suggestions_are_counted_apart(library, agent, low_rates):
    client = api_client_for(agent)
    for _ in range(3):
        client.get(BRANDS)
    assert client.get(BRANDS).status_code == 429

    asked = [client.post(SUGGESTIONS, {"text": "my bag is lost"}, format="json") for _ in range(3)]

    assert [answer.status_code for answer in asked] == [200, 200, 429]


def test_anonymous_callers_are_counted_by_address(db, client, low_rates):
    answers = [client.get("/api/schema/", REMOTE_ADDR="10.0.0.9").status_code for _ in range(3)]

    assert answers == [200, 200, 429]
    assert client.get("/api/schema/", REMOTE_ADDR="10.0.0.10").status_code == 200
