"""Celery entry points for content gaps and the departments' digests. Logic lives in
insights.gaps and insights.digest; tasks take no model instances."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from celery import shared_task

from config.celery_app import ran_in_process
from insights.digest import DigestsFailed, digest_send
from insights.gaps import GapRunInProgress, gap_run_current, gaps_find
from insights.models import GapRun

logger = logging.getLogger(__name__)


@shared_task
def gaps_find_task(trigger: str = GapRun.Trigger.SCHEDULE) -> int | None:
    """Cluster the recent badly served mentions; returns the run's id, or None when another run
    was under way (it will have the same result, so this one is skipped, not retried)."""
    try:
        return gaps_find(trigger=trigger).pk
    except GapRunInProgress as busy:
        logger.info("Content gaps skipped: %s", busy)
        return None


@dataclass(frozen=True)
class StartedRun:
    task_id: str
    run: GapRun | None  # None while queued (or when another run overtook this one)

    @property
    def queued(self) -> bool:
        return self.run is None


def gaps_find_start() -> StartedRun:
    """Queue an on-demand run for an editor ("Find content gaps now"); without a broker it has
    finished on return. Raises GapRunInProgress when a run is under way."""
    current = gap_run_current()
    if current is not None:
        raise GapRunInProgress(current)
    result = gaps_find_task.delay(trigger=GapRun.Trigger.ON_DEMAND)
    run_id = result.get() if ran_in_process(result) else None
    return StartedRun(result.id, GapRun.objects.filter(pk=run_id).first() if run_id else None)


@shared_task(
    autoretry_for=(DigestsFailed,),
    retry_backoff=60,
    retry_backoff_max=60 * 60,
    max_retries=5,
    retry_jitter=True,
)
def digest_send_task() -> dict[str, int]:
    """Each department's weekly digest (the beat's "department-digest"). A department whose mail
    failed is retried with the task; those already mailed this week are skipped on the retry.
    Returns how many departments ended in each outcome."""
    outcomes = digest_send()
    return dict(Counter(outcome.status for outcome in outcomes))
