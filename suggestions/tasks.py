"""Celery entry points for keeping the index in step with the library. Logic lives in
suggestions.indexing; tasks take no model instances and own their retries."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_process_init, worker_ready

from suggestions.embedder import get_embedder
from suggestions.indexing import index_rebuild, index_sync


@shared_task(autoretry_for=(Exception,), retry_backoff=2, retry_backoff_max=60, max_retries=8)
def index_sync_task() -> str:
    """Apply whatever changed in the library since the active index version."""
    return index_sync().version


@shared_task(autoretry_for=(Exception,), retry_backoff=5, max_retries=3)
def index_rebuild_task() -> str:
    return index_rebuild().version


@worker_ready.connect
@worker_process_init.connect
def load_model_before_the_first_task(**kwargs: object) -> None:
    """Load the embedding model when a worker starts, not when the first edit waits for it."""
    get_embedder()
