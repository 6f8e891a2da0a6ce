"""Celery entry points for the channels. Logic lives in connectors.services."""

from __future__ import annotations

from celery import shared_task

from connectors.selectors import connections_due
from connectors.services import mentions_poll


@shared_task
def mentions_poll_task(connection_id: int) -> int:
    """Read one X account's new mentions into the inbox; returns how many were new."""
    return mentions_poll(connection_id=connection_id)


@shared_task
def connections_poll_due_task() -> int:
    """Queue a poll of every connected account (run by the beat every CARELINE_X_POLL_SECONDS);
    returns how many were queued."""
    due = connections_due()
    for connection_id in due:
        mentions_poll_task.delay(connection_id)
    return len(due)
