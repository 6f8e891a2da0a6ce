"""The index follows the library through a real broker and worker, and a stale index never
shows what the library no longer approves."""

from __future__ import annotations

import time

import pytest

from kb import services
from suggestions.indexing import active_version, index_rebuild
from suggestions.models import ActiveIndex
from suggestions.selectors import index_status
from suggestions.serving import holder
from tests.integration.conftest import Worker, wait_for

CANCELLED = "my flight got cancelled and nobody at the gate can rebook me"
NEW_PHRASING = "the pilot said the aircraft smells of burnt toast and we all had to get off"


@pytest.fixture
def library(real_services, editor):
    brand = services.brand_create(key="acme-air", name="Acme Air", handle="@AcmeAir")
    cancelled = services.issue_create(key="cancelled-flight", title="Flight cancelled", brand=brand)
    for text in (CANCELLED, "cancelled AGAIN. what now??", "AC1432 just got cancelled, rebook me"):
        services.example_create(issue=cancelled, text=text)
    baggage = services.issue_create(key="lost-bag", title="Bag lost", brand=brand)
    for text in (
        "my suitcase never showed up on the belt",
        "where is my luggage??",
        "lost bag at the airport",
    ):
        services.example_create(issue=baggage, text=text)
    responses = {
        issue.key: services.response_create(
            issue=issue,
            key=f"{issue.key}-reply",
            channel="any",
            status="approved",
            text="Sorry {{ customer_name|default:'there' }}, please DM us. ^{{ agent_initials }}",
        )
        for issue in (cancelled, baggage)
    }
    index_rebuild()
    return responses


def suggested(api, text):
    answer = api.post("/api/v1/suggestions/", {"text": text, "brand": "acme-air"}, format="json")
    assert answer.status_code == 200, answer.content
    return [item["response"] for item in answer.json()["suggestions"]]


def test_edited_example_is_suggested_after_the_worker_indexes_it(library, worker, api):
    wait_for(lambda: index_status()["fresh"], timeout=60)  # the set-up's own sync tasks settle
    assert "lost-bag-reply" not in suggested(api, NEW_PHRASING)[:1]
    example = library["lost-bag"].issue.examples.first()
    saved = time.monotonic()
    answer = api.patch(f"/api/v1/examples/{example.pk}/", {"text": NEW_PHRASING}, format="json")
    assert answer.status_code == 200, answer.content
    answered = wait_for(lambda: suggested(api, NEW_PHRASING)[:1] == ["lost-bag-reply"], timeout=30)
    print(f"edited example answered {answered - saved:.2f} s after the save committed")


def test_an_edit_is_served_by_a_patch_long_before_the_worker_refits_the_ranking(
    library, real_services, tmp_path, api
):
    worker = Worker(tmp_path / "patching-worker.log", env={"CARELINE_INDEX_COMPACT_SECONDS": "600"})
    worker.start()
    try:
        wait_for(lambda: index_status()["fresh"], timeout=60)
        before = active_version().version
        example = library["lost-bag"].issue.examples.first()
        saved = time.monotonic()
        answer = api.patch(f"/api/v1/examples/{example.pk}/", {"text": NEW_PHRASING}, format="json")
        assert answer.status_code == 200, answer.content
        answered = wait_for(lambda: suggested(api, NEW_PHRASING)[:1] == ["lost-bag-reply"], timeout=30)
        assert active_version().version == before  # the patch alone serves it
        assert ActiveIndex.objects.get().patch_id > 0
        print(f"patched example answered {answered - saved:.2f} s after the save committed")
    finally:
        worker.stop()


def test_retired_response_is_never_suggested_while_the_worker_is_down_and_index_catches_up(
    library, worker, api
):
    wait_for(lambda: index_status()["fresh"], timeout=60)
    assert suggested(api, CANCELLED)[0] == "cancelled-flight-reply"
    worker.stop()
    version_before = active_version().version

    answer = api.patch(
        f"/api/v1/responses/{library['cancelled-flight'].pk}/", {"status": "retired"}, format="json"
    )
    assert answer.status_code == 200, answer.content

    holder.forget()
    assert active_version().version == version_before  # nobody has updated the index
    assert not index_status()["fresh"]
    for _ in range(3):
        assert "cancelled-flight-reply" not in suggested(api, CANCELLED)

    worker.start()
    wait_for(lambda: index_status()["fresh"], timeout=60)
    assert active_version().version != version_before
    assert "cancelled-flight-reply" not in suggested(api, CANCELLED)


def test_a_rebuild_asked_over_the_api_is_queued_and_done_by_the_worker(library, worker, api):
    wait_for(lambda: index_status()["fresh"], timeout=60)
    before = active_version().version

    answer = api.post("/api/v1/index/rebuild/")

    assert answer.status_code == 202, answer.content
    assert answer.json()["status"] == "queued"
    wait_for(lambda: active_version().version != before, timeout=60)
    assert active_version().kind == "full"
