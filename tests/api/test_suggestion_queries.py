"""What one POST /api/v1/suggestions/ asks the database, statement by statement: everything that
changes only with the index version (the brand's vectors, which issue serves which brand, the
calibration) is kept between requests, and each statement left is pinned here."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from suggestions import serving

URL = "/api/v1/suggestions/"

# A mention about one thing (no topics: suggestions.text.mention_topics), for an agent who serves
# no brand in particular naming one.
READS = [
    "knox_authtoken",  # the token and its user (accounts.auth)
    "auth_user_user_permissions",  # may they ask (config.permissions): the user's own grants
    "auth_group_permissions",  # and their groups'
    "kb_brand",  # the brand named
    "kb_brand_members",  # the brands they serve (kb.api.BrandScoped)
    "kb_example",  # the nearest examples still active (the index may be older than an edit)
    "kb_response",  # the live reply of each issue found, now
]
# Stored in the request, one transaction (the web workers on PostgreSQL write it off the
# response path instead: tests/integration/test_request_log.py).
WRITES = ["BEGIN", "suggestions_suggestionrequest", "suggestions_suggestedresponse", "COMMIT"]


def tables(captured: list[dict]) -> list[str]:
    named = []
    for query in captured:
        sql = query["sql"]
        found = [table for table in READS + WRITES if table in sql]
        named.append(found[-1] if found else sql.split()[0])
    return named


@pytest.fixture
def warm(library, agent_client, monkeypatch, transactional_db):
    """A process that has answered once: the served index and calibration are read, and kept
    for POLL_SECONDS as in production (the test fixtures re-read them on every call). Outside a
    test transaction, as a web request runs."""
    monkeypatch.setattr(serving, "POLL_SECONDS", 60.0)
    assert agent_client.post(URL, {"text": "my bag never arrived"}, format="json").status_code == 200
    return agent_client


def test_a_mention_costs_seven_reads_and_one_transaction_of_two_inserts(warm):
    with CaptureQueriesContext(connection) as queries:
        answer = warm.post(URL, {"text": "my bag never arrived", "brand": "acme-air"}, format="json")

    assert answer.status_code == 200
    assert tables(queries.captured_queries) == [*READS, *WRITES]


def test_each_topic_of_a_mention_adds_one_read_of_its_nearest_examples(warm):
    text = "my bag never arrived at the belt. also the refund for my cancelled flight never came"
    with CaptureQueriesContext(connection) as queries:
        answer = warm.post(URL, {"text": text, "brand": "acme-air"}, format="json")

    assert answer.status_code == 200
    assert tables(queries.captured_queries).count("kb_example") == 3
