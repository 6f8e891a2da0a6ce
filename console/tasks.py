"""Celery entry points for the inbox. Logic lives in console.services."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task

from console.services import mention_suggest, mention_suggest_failed, mentions_awaiting_suggestions
from suggestions.engine import IndexUnavailable


@shared_task(autoretry_for=(IndexUnavailable,), retry_backoff=2, retry_backoff_max=60, max_retries=10)
def mention_suggest_task(mention_id: int) -> int | None:
    """Compute a pushed mention's suggestions as soon as it arrives; returns the request's id."""
    try:
        return mention_suggest(mention_id=mention_id).suggestion_id
    except IndexUnavailable:
        raise  # retried: the index comes back
    except Exception as failure:
        mention_suggest_failed(mention_id=mention_id, error=failure)
        raise


@shared_task
def mentions_suggest_missed_task() -> int:
    """Queue suggestions for mentions whose task was lost; returns how many were queued."""
    missed = mentions_awaiting_suggestions(older_than=timedelta(minutes=1))
    for mention_id in missed:
        mention_suggest_task.delay(mention_id)
    return len(missed)
