"""The index under faults, with the real broker and worker: a worker killed in the middle of a
rebuild asked over the API does not lose it."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from kb import services
from suggestions.indexing import active_version, index_rebuild
from suggestions.selectors import index_status
from tests.integration.conftest import wait_for

# Enough text that the real model takes several seconds to embed it all.
EXAMPLES = 200
FILLER = (
    "I have been waiting at the depot since this morning and the driver says it is not on the van, "
    "the tracking page has not changed for a week and nobody answers the phone"
)


@pytest.fixture
def slow_library(real_services):
    with services.library_batch():
        for number in range(EXAMPLES // 4):
            issue = services.issue_create(key=f"topic-{number}", title=f"Question number {number}")
            for variant in ("never arrived", "was damaged", "got lost", "is late again"):
                services.example_create(issue=issue, text=f"my parcel {number} {variant}. {FILLER}")
            services.response_create(
                issue=issue, key=f"topic-{number}-any", channel="any", status="approved", text="Sorry!"
            )
    return index_rebuild()


def test_a_rebuild_survives_its_worker_being_killed_in_the_middle(slow_library, worker, api):
    wait_for(lambda: index_status()["fresh"], timeout=120)  # the set-up's own sync settles
    before = active_version().version
    log_start = len(worker.log.read_text())

    answer = api.post("/api/v1/index/rebuild/")
    assert answer.status_code == 202, answer.content
    wait_for(lambda: "index_rebuild_task" in worker.log.read_text()[log_start:], timeout=30)
    time.sleep(1.5)  # well inside the embedding of the whole library
    worker.process.kill()
    worker.process.wait(10)
    worker.process = None
    assert active_version().version == before, "the rebuild finished before the worker was killed"

    restarted = timezone.now()
    # A solo worker answers no ping while it rebuilds: allow for the rebuild it resumes on start.
    worker.start(timeout=240)
    wait_for(lambda: active_version().version != before, timeout=90)

    rebuilt = active_version()
    assert rebuilt.kind == "full"
    took = (rebuilt.activated_at - restarted).total_seconds()
    assert took < 90, f"rebuilt only {took:.0f} s after the worker was started again"
    shown = api.get("/api/v1/index/").json()
    assert shown["version"] == rebuilt.version
    assert shown["fresh"] is True
    print(f"rebuilt {took:.1f} s after the worker was started again")
