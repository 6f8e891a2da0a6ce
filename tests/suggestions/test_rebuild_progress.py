"""A rebuild tells how far it got: manage.py rebuild_index prints each step and its time, a
rebuild asked for in the admin or the API records its steps and counts on its request."""

from __future__ import annotations

import logging
from io import StringIO

import numpy as np
from django.core.management import call_command
from django.utils import timezone

from kb import services
from suggestions.indexing import index_rebuild_request, index_rebuild_requested, library_snapshot
from suggestions.models import IndexRebuildRequest
from suggestions.progress import RequestProgress, StepTimer
from suggestions.ranking import CALIBRATION_FOLDS, MIN_CALIBRATION_ISSUES, calibration_fit
from suggestions.tasks import index_sync_task

STEPS = ["reading the library", "loading the model", "encoding", "building the index", "fitting the ranking"]


def run(*args: str) -> str:
    out = StringIO()
    call_command("rebuild_index", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _in_order(text: str, names: list[str]) -> bool:
    places = [text.find(name) for name in names]
    return -1 not in places and places == sorted(places)


def test_rebuild_index_prints_each_step_as_it_starts_and_its_time(unindexed_library):
    texts = len(library_snapshot().texts)

    out = run("--quiet")

    assert _in_order(out, [*STEPS, "calibrating", "writing"])
    assert f"encoding {texts} texts..." in out
    assert f"encoding {texts} texts: " in out and f"{texts} of {texts}" in out
    assert "writing: " in out and " s" in out
    assert "calibrating: " in out


def test_rebuild_index_if_stale_prints_the_steps_of_the_first_build(unindexed_library):
    out = run("--if-stale", "--quiet")

    assert _in_order(out, [*STEPS, "writing"])
    assert "is up to date" in out


def test_rebuild_index_if_stale_names_what_it_re_encodes(library):
    services.example_create(issue=library.issues["password-reset"], text="two factor code never comes by sms")

    out = run("--if-stale", "--quiet")

    assert "encoding 1 changed texts" in out


def test_a_rebuild_request_records_every_step_it_ran(library):
    texts = len(library_snapshot().texts)
    request = index_rebuild_request()

    index_rebuild_requested(request_id=request.pk, worker="worker@test")

    request.refresh_from_db()
    names = [step["name"] for step in request.progress["steps"]]
    assert _in_order(" | ".join(names), [*STEPS, "calibrating", "writing"])
    assert request.progress["step"] is None  # nothing left running
    encoding = next(step for step in request.progress["steps"] if step["name"].startswith("encoding"))
    assert encoding["done"] == texts
    assert request.status == "done"


def test_a_running_request_shows_its_current_step_and_count(db):
    request = IndexRebuildRequest.objects.create(started_at=timezone.now())
    progress = RequestProgress(request.pk, every=0)

    progress.step("encoding 10 texts", total=10)
    progress.advance(3)

    request.refresh_from_db()
    assert request.progress["step"] == "encoding 10 texts"
    assert (request.progress["done"], request.progress["total"]) == (3, 10)


def test_counts_are_written_no_more_often_than_asked(db):
    request = IndexRebuildRequest.objects.create(started_at=timezone.now())
    progress = RequestProgress(request.pk, every=3600)

    progress.step("encoding 10 texts", total=10)
    progress.advance(3)

    request.refresh_from_db()
    assert request.progress["done"] == 0  # the step's start was written, the count waits
    progress.step("building the index")
    request.refresh_from_db()
    assert request.progress["steps"][0]["done"] == 3


def test_the_index_api_shows_the_newest_rebuild_and_its_steps(library, editor_client):
    assert editor_client.post("/api/v1/index/rebuild/").status_code == 202

    status = editor_client.get("/api/v1/index/").json()

    assert status["rebuild"]["status"] == "done"
    assert status["rebuild"]["version"] == status["version"]
    assert "fitting the ranking" in [step["name"] for step in status["rebuild"]["steps"]]


def test_a_first_build_run_as_a_task_logs_its_steps(unindexed_library, caplog):
    caplog.set_level(logging.INFO, logger="suggestions.progress")

    index_sync_task.delay()  # as a library import queues it: in-process here, as under make setup

    logged = [record.getMessage() for record in caplog.records if record.name == "suggestions.progress"]
    assert "Index build: fitting the ranking..." in logged
    assert "Index build: calibrating..." in logged
    assert any(line.startswith("Index build: encoding ") and line.endswith(" s") for line in logged)


def test_the_calibration_counts_its_folds():
    rng = np.random.default_rng(3)
    issues = MIN_CALIBRATION_ISSUES + 2
    centres = rng.normal(size=(issues, 16))
    vectors = np.repeat(centres, 6, axis=0) + 0.3 * rng.normal(size=(issues * 6, 16))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    labels = np.repeat(np.arange(issues), 6).astype(np.int64)
    progress = StepTimer()
    progress.step("calibrating", total=CALIBRATION_FOLDS)

    calibration_fit(vectors, labels, np.ones(len(labels), dtype=bool), fold_done=progress.advance)

    assert progress.done == CALIBRATION_FOLDS
