"""Celery entry points for keeping the index in step with the library, and the confidence in step
with agents' verdicts. Logic lives in suggestions.indexing and suggestions.recalibration; tasks
take no model instances and own their retries."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.result import AsyncResult
from celery.signals import worker_process_init, worker_ready
from django.conf import settings
from django.core.cache import cache

from suggestions.embedder import get_embedder
from suggestions.indexing import (
    index_rebuild,
    index_rebuild_request,
    index_rebuild_requested,
    index_rebuild_requests_lost,
    index_sync,
    index_versions_prune,
)
from suggestions.models import IndexRebuildRequest
from suggestions.patching import index_patch
from suggestions.progress import LogProgress
from suggestions.recalibration import RecalibrationRefused, recalibration_fit

logger = logging.getLogger(__name__)

_COMPACTION_QUEUED = "careline:index-compaction-queued"


@shared_task(autoretry_for=(Exception,), retry_backoff=1, retry_backoff_max=30, max_retries=8)
def index_patch_task(issue_ids: list[int]) -> int | None:
    """Serve what changed in these issues at once, then queue the sync that refits the ranking."""
    patch = index_patch(issue_ids)
    index_compaction_queue()
    return patch.pk if patch else None


def index_compaction_queue() -> None:
    """Queue a sync to run CARELINE_INDEX_COMPACT_SECONDS from now, unless one already waits
    (in this process). Tasks run in-process have no later: the sync runs now."""
    wait = settings.CARELINE_INDEX_COMPACT_SECONDS
    in_process = index_sync_task.app.conf.task_always_eager
    if in_process or cache.add(_COMPACTION_QUEUED, True, timeout=wait):
        index_sync_task.apply_async(countdown=wait)


@shared_task(autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=60, max_retries=8)
def index_sync_task() -> str:
    """Apply whatever changed in the library since the active index version."""
    return index_sync(progress=LogProgress()).version


@shared_task(bind=True, autoretry_for=(Exception,), retry_backoff=5, max_retries=3)
def index_rebuild_task(self: Task, request_id: int | None = None) -> str | None:
    """Rebuild in full; with ``request_id`` (an IndexRebuildRequest), that request, once."""
    if request_id is None:
        return index_rebuild(progress=LogProgress()).version
    version = index_rebuild_requested(request_id=request_id, worker=self.request.hostname or "in-process")
    return version.version if version else None


def index_rebuild_queue(*, requested_by: Any = None) -> tuple[IndexRebuildRequest, AsyncResult | None]:
    """Record that a full rebuild is wanted and queue it (the API's and the admin's button): the
    request, and the task's result, None when the broker could not take it (the sweep will)."""
    # Recorded first: a message lost on the way, or with a worker killed running it, is queued
    # again by the worker's sweep.
    rebuild = index_rebuild_request(requested_by=requested_by)
    try:
        return rebuild, index_rebuild_task.delay(rebuild.pk)
    except Exception:
        logger.exception("Could not queue index rebuild request %s; the sweep will", rebuild.pk)
        return rebuild, None


@shared_task
def index_maintain_task() -> list[int]:
    """Queue again the rebuild requests that were lost, and delete the versions nobody needs
    (old ones, and partial ones a failed write left behind)."""
    lost = index_rebuild_requests_lost()
    for request_id in lost:
        index_rebuild_task.delay(request_id)
    index_versions_prune()
    return lost


@shared_task
def recalibration_fit_task() -> int | None:
    """Refit the confidence on agents' verdicts; None while there are too few to learn from."""
    try:
        return recalibration_fit().pk
    except RecalibrationRefused as exc:
        logger.info("Confidence not recalibrated: %s", exc)
        return None


@worker_ready.connect
@worker_process_init.connect
def load_model_before_the_first_task(**kwargs: object) -> None:
    """Load the embedding model when a worker starts, not when the first edit waits for it."""
    get_embedder()


@worker_ready.connect
def resume_the_rebuilds_this_worker_was_running(sender: Any = None, **kwargs: object) -> None:
    """A worker that starts again under its old name was killed in the middle of whatever
    rebuild its last run had started: queue it again now rather than after the broker's
    visibility timeout (an hour) hands the unacknowledged message out again."""
    try:
        lost = index_rebuild_requests_lost(restarted_worker=getattr(sender, "hostname", None))
        for request_id in lost:
            index_rebuild_task.delay(request_id)
    except Exception:
        logger.exception("Could not look for rebuilds lost with this worker; the periodic sweep will")
