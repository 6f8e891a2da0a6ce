"""Bad input anywhere in the API gets a 400 naming the field, never a 500; a database that does
not answer gets a JSON 503 the caller can retry after."""

from __future__ import annotations

import socket

import pytest
from django.db import connections
from rest_framework.test import APIClient

from tests.engine_fixtures import api_client_for

LIST_ENDPOINTS = [
    "/api/v1/brands/",
    "/api/v1/issues/",
    "/api/v1/examples/",
    "/api/v1/responses/",
    "/api/v1/suggestions/",
    "/api/v1/mentions/",
    "/api/v1/gaps/",
    "/api/v1/gaps/runs/",
]
ANALYTICS_ENDPOINTS = [
    "/api/v1/analytics/summary/",
    "/api/v1/analytics/responses/",
    "/api/v1/analytics/responses.csv",
    "/api/v1/analytics/issues/",
    "/api/v1/analytics/issues.csv",
]
NUL = "Null characters are not allowed."
MENTION = {"text": "@AcmeAir my flight got cancelled!!", "brand": "acme-air", "channel": "twitter"}


@pytest.fixture
def admin_client(admin_user) -> APIClient:
    return api_client_for(admin_user)


# ---- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "99999999999999999999"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-117576", "limit": "2591941012761955794944"}, "offset"),
        ({"offset": "99999999999999999999"}, "offset"),
    ],
)
def test_a_page_out_of_bounds_is_refused_naming_the_parameter(admin_client, endpoint, params, field):
    answer = admin_client.get(endpoint, params)

    assert answer.status_code == 400
    assert field in answer.json()


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
def test_the_largest_page_is_200_and_still_answers(library, admin_client, endpoint):
    answer = admin_client.get(endpoint, {"limit": 200, "offset": 0})

    assert answer.status_code == 200
    assert set(answer.json()) >= {"count", "next", "previous", "results"}


def test_the_schema_states_the_page_bounds(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()

    parameters = {item["name"]: item for item in schema["paths"]["/api/v1/brands/"]["get"]["parameters"]}
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 200}
    assert parameters["offset"]["schema"]["minimum"] == 0


# ---- JSON bodies ------------------------------------------------------------------------------


def test_json_nested_a_thousand_deep_is_refused(library, agent_client):
    body = '{"text": "cancelled", "author": ' + "[" * 5000 + "]" * 5000 + "}"

    answer = agent_client.post("/api/v1/suggestions/", body, content_type="application/json")

    assert answer.status_code == 400
    assert "nested too deeply" in answer.json()["detail"]


def test_json_nested_past_the_limit_is_refused_even_when_python_could_read_it(library, agent_client):
    body = '{"text": "cancelled", "author": ' + "[" * 100 + "]" * 100 + "}"

    answer = agent_client.post("/api/v1/suggestions/", body, content_type="application/json")

    assert answer.status_code == 400
    assert "nested too deeply" in answer.json()["detail"]


def test_json_nested_as_deep_as_a_real_request_still_works(library, agent_client):
    answer = agent_client.post(
        "/api/v1/suggestions/",
        {**MENTION, "author": {"handle": "@jane", "name": "Jane"}},
        format="json",
    )

    assert answer.status_code == 200


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ('{"text": "cancelled", "brand": "acme\\u0000air"}', {"brand": [NUL]}),
        (
            '{"text": "cancelled", "author": {"name": "Ja\\u0000ne"}}',
            {"author": {"name": [NUL]}},
        ),
        ('{"text": "cancel\\ud800led"}', {"text": ["Surrogate characters are not allowed: U+D800."]}),
        ('{"text": "cancelled", "a\\u0000": 1}', {"a\x00": [NUL]}),
    ],
)
def test_nul_and_lone_surrogates_in_json_are_refused_with_the_field(library, agent_client, body, errors):
    answer = agent_client.post("/api/v1/suggestions/", body, content_type="application/json")

    assert answer.status_code == 400
    assert answer.json() == errors


def test_nul_in_a_nested_list_names_its_place(library, editor_client):
    body = '{"key": "x", "title": "X", "examples": [{"text": "fine"}, {"text": "bad\\u0000"}]}'

    answer = editor_client.post("/api/v1/issues/", body, content_type="application/json")

    assert answer.status_code == 400
    assert answer.json() == {"examples": {"1": {"text": [NUL]}}}


def test_malformed_json_is_still_a_parse_error(library, agent_client):
    answer = agent_client.post("/api/v1/suggestions/", '{"text": ', content_type="application/json")

    assert answer.status_code == 400
    assert "JSON parse error" in answer.json()["detail"]


# ---- query parameters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [*LIST_ENDPOINTS, *ANALYTICS_ENDPOINTS, "/api/v1/library-health/", "/api/v1/common-edits/"],
)
def test_nul_in_a_query_parameter_is_refused_naming_it(admin_client, endpoint):
    answer = admin_client.get(endpoint, {"brand": "acme\x00air"})

    assert answer.status_code == 400
    assert answer.json() == {"brand": [NUL]}


def test_nul_in_a_query_parameter_name_is_refused(admin_client):
    answer = admin_client.get("/api/v1/brands/?na%00me=1")

    assert answer.status_code == 400
    assert "na\x00me" in answer.json()


def test_nul_in_a_query_parameter_of_a_page_is_refused_too(admin_user, client):
    client.force_login(admin_user)

    answer = client.get("/admin/kb/brand/", {"q": "acme\x00"})

    assert answer.status_code == 400
    assert b"q" in answer.content


# ---- analytics periods ------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ANALYTICS_ENDPOINTS)
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"until": "0001-01-01"}, "until"),
        ({"until": "9999-12-31"}, "until"),
        ({"since": "0001-01-01"}, "since"),
        ({"since": "9999-12-31"}, "since"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "since"),
    ],
)
def test_an_analytics_period_out_of_bounds_is_refused_naming_the_field(admin_client, endpoint, params, field):
    answer = admin_client.get(endpoint, params)

    assert answer.status_code == 400
    assert field in answer.json()


@pytest.mark.parametrize("endpoint", ["/api/v1/library-health/", "/api/v1/common-edits/"])
@pytest.mark.parametrize("days", ["99999999999999999999", "0", "-3"])
def test_health_periods_out_of_bounds_are_refused(admin_client, endpoint, days):
    answer = admin_client.get(endpoint, {"days": days})

    assert answer.status_code == 400
    assert "days" in answer.json()


def test_analytics_page_refuses_an_out_of_bounds_period_with_a_message(admin_user, client):
    client.force_login(admin_user)

    answer = client.get("/admin/insights/analytics/", {"until": "0001-01-01"})

    assert answer.status_code == 200
    assert "until" in answer.context["errors"]


# ---- the database down ------------------------------------------------------------------------


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def database_down(django_db_blocker, tmp_path):
    """The default connection pointed at a database that is not there: for PostgreSQL a closed
    port, for SQLite a file in a directory that does not exist. Restored afterwards."""
    connection = connections["default"]
    saved = dict(connection.__dict__)
    dead = dict(connection.settings_dict)
    if connection.vendor == "postgresql":
        dead.update(HOST="127.0.0.1", PORT=str(closed_port()), OPTIONS={"connect_timeout": 2})
    else:
        dead["NAME"] = str(tmp_path / "gone" / "careline.sqlite3")
    with django_db_blocker.unblock():
        connection.connection = None
        connection.settings_dict = dead
        try:
            yield
        finally:
            connection.connection = None
            connection.__dict__.clear()
            connection.__dict__.update(saved)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/brands/", None),
        ("get", "/api/v1/mentions/", None),
        ("post", "/api/v1/suggestions/", MENTION),
        ("get", "/api/v1/analytics/summary/", None),
    ],
)
def test_with_the_database_down_the_api_answers_json_503_with_retry_after(database_down, method, path, body):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    answer = getattr(client, method)(path, body, format="json")

    assert answer.status_code == 503
    assert answer["Content-Type"] == "application/json"
    assert answer["Retry-After"] == "30"
    assert "database" in answer.json()["detail"].lower()


def test_with_the_database_down_readyz_says_not_ready(database_down):
    answer = APIClient().get("/readyz")

    assert answer.status_code == 503
    assert answer.json()["ready"] is False
    assert answer["Retry-After"] == "30"


def test_with_the_database_down_a_page_answers_503_not_a_server_error(database_down, client):
    client.cookies["sessionid"] = "a" * 32

    answer = client.get("/")

    assert answer.status_code == 503
    assert answer["Retry-After"] == "30"
    assert b"database" in answer.content
