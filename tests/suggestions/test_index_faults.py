"""The index under faults: a damaged active version, a full disk, a rebuild whose worker died."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from suggestions import tasks
from suggestions.index_store import INDEX_FILE, META_FILE, IndexStore
from suggestions.indexing import active_version, index_rebuild
from suggestions.models import IndexRebuildRequest, IndexVersion
from suggestions.services import Mention, suggestions_for

LUGGAGE = "the airline lost my luggage"


def top_issue(text: str) -> str | None:
    answer = suggestions_for(mention=Mention(text=text))
    return answer.suggestions[0].issue["key"] if answer.suggestions else None


def version_dirs() -> list[str]:
    return sorted(os.listdir(IndexStore().storage.location))


def _truncate_index_file(version: IndexVersion) -> None:
    path = IndexStore().storage.path(f"{version.version}/{INDEX_FILE}")
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) // 2)


def _mismatch_meta_checksum(version: IndexVersion) -> None:
    path = IndexStore().storage.path(f"{version.version}/{META_FILE}")
    with open(path) as fh:
        meta = json.load(fh)
    meta["index_sha256"] = hashlib.sha256(b"something else").hexdigest()
    with open(path, "w") as fh:
        json.dump(meta, fh)


@pytest.fixture
def damaged(library, served_index):
    """Two complete versions; the active (newer) one damaged before this process loads any."""
    newer = index_rebuild()
    served_index.forget()
    return library.version, newer


# ---- a damaged active version -----------------------------------------------------------------


@pytest.mark.parametrize(
    "damage", [_truncate_index_file, _mismatch_meta_checksum], ids=lambda f: f.__name__[1:]
)
def test_a_process_starting_over_a_damaged_active_version_serves_the_newest_complete_one(
    damaged, damage, anonymous_client, editor_client
):
    older, active = damaged
    damage(active)

    ready = anonymous_client.get("/readyz")

    assert ready.status_code == 200, ready.content
    body = ready.json()
    assert body["ready"] is True
    assert body["index"]["status"] == "degraded"
    assert body["index"]["version"] == older.version
    assert f"serving {older.version} because the active version {active.version}" in body["index"]["detail"]
    assert top_issue(LUGGAGE) == "lost-baggage"
    shown = editor_client.get("/api/v1/index/").json()
    assert shown["version"] == active.version
    assert shown["serving"]["status"] == "degraded"
    assert shown["serving"]["version"] == older.version


def test_a_damaged_active_version_is_repaired_and_then_served(
    damaged, anonymous_client, django_capture_on_commit_callbacks
):
    older, active = damaged
    _truncate_index_file(active)

    with django_capture_on_commit_callbacks(execute=True):
        first = anonymous_client.get("/readyz").json()
    second = anonymous_client.get("/readyz").json()

    assert first["index"]["status"] == "degraded"
    repaired = active_version()
    assert repaired.version not in (older.version, active.version)
    assert second["index"] == {"status": "ok", "version": repaired.version}
    assert top_issue(LUGGAGE) == "lost-baggage"


def test_a_version_built_with_another_model_is_never_served_in_place_of_a_damaged_one(
    damaged, anonymous_client
):
    older, active = damaged
    meta_path = IndexStore().storage.path(f"{older.version}/{META_FILE}")
    with open(meta_path) as fh:
        meta = json.load(fh)
    with open(meta_path, "w") as fh:
        json.dump({**meta, "model": "another-model"}, fh)
    _truncate_index_file(active)

    ready = anonymous_client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json()["index"]["status"] == "unavailable"


# ---- a full disk ------------------------------------------------------------------------------


@pytest.fixture
def full_disk(monkeypatch):
    """Every file saved under the index directory gets half written, then the disk is full."""
    save = FileSystemStorage._save

    def save_until_the_disk_is_full(storage, name, content):
        if os.path.realpath(storage.location).startswith(os.path.realpath(IndexStore().storage.location)):
            data = content.read()
            save(storage, name, ContentFile(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(storage, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", save_until_the_disk_is_full)


def test_a_full_disk_leaves_no_partial_version_and_the_previous_one_still_serves(
    library, full_disk, anonymous_client
):
    before = version_dirs()

    with pytest.raises(OSError, match="No space left"):
        index_rebuild()

    assert version_dirs() == before == [library.version.version]
    assert active_version() == library.version
    ready = anonymous_client.get("/readyz").json()
    assert ready["index"] == {"status": "ok", "version": library.version.version}
    assert top_issue(LUGGAGE) == "lost-baggage"


def _partial_version(made: datetime) -> str:
    name = f"{made.strftime('%Y%m%dT%H%M%S.%fZ')}-abc123"
    IndexStore().storage.save(f"{name}/{INDEX_FILE}", ContentFile(b"half an index"))
    return name


def test_the_periodic_sweep_removes_stale_partial_versions_and_never_the_active_or_newest_complete(library):
    stale = _partial_version(datetime.now(UTC) - timedelta(hours=2))
    being_written = _partial_version(datetime.now(UTC))

    tasks.index_maintain_task()

    assert version_dirs() == sorted([library.version.version, being_written])
    assert stale not in version_dirs()
    assert top_issue(LUGGAGE) == "lost-baggage"


# ---- a rebuild whose worker died --------------------------------------------------------------


def test_a_rebuild_asked_over_the_api_is_recorded_until_done(library, editor_client, editor):
    answer = editor_client.post("/api/v1/index/rebuild/")

    assert answer.status_code == 202, answer.content
    request = IndexRebuildRequest.objects.get(pk=answer.json()["request"])
    assert request.requested_by == editor
    assert request.finished_at is not None
    assert request.version == active_version() != library.version


def _killed_rebuild(worker: str, *, beat_ago: timedelta) -> IndexRebuildRequest:
    """A request its worker started and then died running: it stopped touching it."""
    moment = timezone.now() - beat_ago
    return IndexRebuildRequest.objects.create(
        started_at=moment, heartbeat_at=moment, started_by=worker, attempts=1, queued_at=moment
    )


def test_a_worker_that_starts_again_reruns_the_rebuild_its_last_run_died_in(library):
    lost = _killed_rebuild("celery@box", beat_ago=timedelta(seconds=2))
    elsewhere = _killed_rebuild("celery@other-box", beat_ago=timedelta(seconds=2))

    tasks.resume_the_rebuilds_this_worker_was_running(sender=type("Consumer", (), {"hostname": "celery@box"}))

    lost.refresh_from_db()
    elsewhere.refresh_from_db()
    assert lost.finished_at is not None
    assert lost.version == active_version() != library.version
    assert elsewhere.finished_at is None  # its worker may still be running it


def test_the_periodic_sweep_reruns_a_rebuild_whose_worker_went_silent(library):
    lost = _killed_rebuild("celery@gone", beat_ago=timedelta(minutes=1))
    running = _killed_rebuild("celery@busy", beat_ago=timedelta(seconds=2))

    tasks.index_maintain_task()

    lost.refresh_from_db()
    running.refresh_from_db()
    assert lost.finished_at is not None and lost.version == active_version()
    assert running.finished_at is None


def test_a_rebuild_message_delivered_again_after_it_was_done_changes_nothing(library, editor_client):
    request_id = editor_client.post("/api/v1/index/rebuild/").json()["request"]
    done = active_version()

    tasks.index_rebuild_task.delay(request_id)

    assert active_version() == done
