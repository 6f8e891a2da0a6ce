"""What the console reads: the open mentions of a queue, oldest first, with their clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User as Account
from django.db.models import Q, QuerySet
from django.utils import timezone

from console.models import Mention

QUEUES = ("open", "mine", "unassigned")


def response_target() -> timedelta:
    return timedelta(minutes=settings.CARELINE_RESPONSE_TARGET_MINUTES)


def mentions_queue(*, agent: Account, queue: str = "open") -> QuerySet[Mention]:
    """The open mentions (new or assigned) of a queue, oldest first: every one, the agent's own,
    or nobody's."""
    open_ = Mention.objects.filter(status__in=[Mention.Status.NEW, Mention.Status.ASSIGNED])
    if queue == "mine":
        open_ = open_.filter(assigned_to=agent)
    elif queue == "unassigned":
        open_ = open_.filter(assigned_to__isnull=True)
    return open_.select_related("brand", "assigned_to", "suggestion").order_by("received_at", "id")


def mentions_overdue(*, now: datetime | None = None) -> int:
    """Open mentions older than the response target."""
    cutoff = (now or timezone.now()) - response_target()
    return Mention.objects.filter(
        Q(status=Mention.Status.NEW) | Q(status=Mention.Status.ASSIGNED), received_at__lt=cutoff
    ).count()
