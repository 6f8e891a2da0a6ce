"""Celery entry points for webhooks. Logic lives in webhooks.services."""

from __future__ import annotations

from celery import shared_task

from webhooks.selectors import deliveries_due
from webhooks.services import delivery_attempt


@shared_task
def delivery_send_task(delivery_id: int) -> str | None:
    """Try a delivery once (retries are scheduled by the sweep); returns its status."""
    delivery = delivery_attempt(delivery_id=delivery_id)
    return delivery.status if delivery else None


@shared_task
def deliveries_send_due_task() -> int:
    """Send every delivery whose next attempt is due (retries, and any whose task was lost);
    returns how many were queued."""
    due = deliveries_due()
    for delivery_id in due:
        delivery_send_task.delay(delivery_id)
    return len(due)
