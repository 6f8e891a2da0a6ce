"""The index over REST, liveness and readiness, and the API's own documentation."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

from kb import services
from suggestions.index_store import IndexStore
from suggestions.indexing import active_version, index_sync
from suggestions.models import IndexVersion
from tests.engine_fixtures import SEARCHABLE_VECTORS


def test_index_status_shows_the_served_version_its_size_and_that_it_is_fresh(library, agent_client):
    answer = agent_client.get("/api/v1/index/")

    assert answer.status_code == 200
    body = answer.json()
    assert body["version"] == library.version.version
    assert body["count"] == SEARCHABLE_VECTORS
    assert body["model"] == "fake-hashing-256"
    assert body["fresh"] is True
    assert body["recent"][0]["version"] == library.version.version


def test_index_is_not_fresh_after_an_edit_it_has_not_taken_in(library, agent_client):
    services.example_create(issue=library.issues["password-reset"], text="two factor code never comes by sms")

    stale = agent_client.get("/api/v1/index/").json()
    index_sync()
    synced = agent_client.get("/api/v1/index/").json()

    assert (stale["version"], stale["fresh"]) == (library.version.version, False)
    assert synced["fresh"] is True
    assert synced["count"] == SEARCHABLE_VECTORS + 1
    assert [item["kind"] for item in synced["recent"]] == ["incremental", "full"]


def test_index_is_fresh_again_once_an_api_edit_is_committed(
    library, editor_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(
            "/api/v1/examples/", {"issue": "password-reset", "text": "locked out"}, format="json"
        )

    body = editor_client.get("/api/v1/index/").json()
    assert body["fresh"] is True
    assert body["version"] != library.version.version


def test_index_status_without_an_index(unindexed_library, agent_client):
    body = agent_client.get("/api/v1/index/").json()

    assert (body["version"], body["count"], body["fresh"]) == (None, 0, False)


def test_index_status_needs_authentication(library, anonymous_client):
    assert anonymous_client.get("/api/v1/index/").status_code in (401, 403)


def test_editor_starts_a_rebuild(library, editor_client):
    answer = editor_client.post("/api/v1/index/rebuild/")

    assert answer.status_code == 202
    assert answer.json()["status"] == "done"  # tasks run in-process here
    rebuilt = active_version()
    assert rebuilt != library.version
    assert rebuilt.kind == IndexVersion.Kind.FULL
    assert editor_client.get("/api/v1/index/").json()["version"] == rebuilt.version


def test_rebuild_restores_service_after_the_index_files_are_lost(library, editor_client, agent_client):
    IndexStore().delete_version(library.version.version)
    assert (
        agent_client.post("/api/v1/suggestions/", {"text": "lost luggage"}, format="json").status_code == 503
    )

    assert editor_client.post("/api/v1/index/rebuild/").status_code == 202

    assert (
        agent_client.post("/api/v1/suggestions/", {"text": "lost luggage"}, format="json").status_code == 200
    )


@pytest.mark.parametrize("who, status", [("agent_client", 403), ("anonymous_client", 401)])
def test_only_editors_may_rebuild(library, request, who, status):
    answer = request.getfixturevalue(who).post("/api/v1/index/rebuild/")

    assert answer.status_code == status
    assert active_version() == library.version


# ---- health -----------------------------------------------------------------------------------


def test_healthz_answers_without_authentication(db, anonymous_client):
    answer = anonymous_client.get("/healthz")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_is_200_with_an_index(library, anonymous_client):
    answer = anonymous_client.get("/readyz")

    assert answer.status_code == 200
    body = answer.json()
    assert body["ready"] is True
    assert body["database"] == "ok"
    assert body["index"] == {"status": "ok", "version": library.version.version}


def test_readyz_is_503_without_an_index(unindexed_library, anonymous_client):
    answer = anonymous_client.get("/readyz")

    assert answer.status_code == 503
    body = answer.json()
    assert body["ready"] is False
    assert body["index"]["status"] == "unavailable"
    assert "rebuild_index" in body["index"]["detail"]


def test_readyz_is_503_when_the_index_files_are_missing(library, anonymous_client):
    IndexStore().delete_version(library.version.version)

    assert anonymous_client.get("/readyz").status_code == 503


# ---- documentation ----------------------------------------------------------------------------


def test_openapi_schema_describes_the_api(db, anonymous_client):
    answer = anonymous_client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert answer.status_code == 200
    schema = answer.json()
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/suggestions/",
        "/api/v1/suggestions/{id}/feedback/",
        "/api/v1/issues/",
        "/api/v1/responses/",
        "/api/v1/brands/",
        "/api/v1/index/",
        "/api/v1/index/rebuild/",
    ):
        assert path in schema["paths"], path
    request_body = schema["paths"]["/api/v1/suggestions/"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    assert request_body["schema"]["$ref"].endswith("SuggestionInputRequest")
    assert "text" in schema["components"]["schemas"]["SuggestionInputRequest"]["required"]


def test_docs_page_uses_only_local_static_assets(db, anonymous_client):
    answer = anonymous_client.get("/api/docs/")

    assert answer.status_code == 200
    page = answer.content.decode()
    assert "://" not in page  # no CDN, no absolute URL of any kind
    assert not re.search(r"""(?:src|href)\s*=\s*["']?//""", page)
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+\.(?:js|css|png))["']""", page)
    assert assets, "the page loads Swagger UI from somewhere"
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not a static file of the project"


def test_authors_write_the_library_but_may_not_rebuild_the_index(library, author_client):
    assert author_client.post("/api/v1/index/rebuild/").status_code == 403
