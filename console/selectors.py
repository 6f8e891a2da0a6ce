"""What the console reads: the open mentions of a queue, oldest first, with their clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User as Account
from django.db.models import Q, QuerySet
from django.utils import timezone

from console.models import Mention
from kb.selectors import brands_served_by

QUEUES = ("open", "mine", "unassigned")


def response_target() -> timedelta:
    return timedelta(minutes=settings.CARELINE_RESPONSE_TARGET_MINUTES)


def mentions_visible_to(user: Account) -> Q:
    """The mentions someone may work: every one, or, for someone who serves particular brands,
    those brands' (and mentions that name no brand)."""
    served = brands_served_by(user)
    return Q() if served is None else Q(brand__in=served) | Q(brand__isnull=True)


def mentions_queue(*, agent: Account, queue: str = "open") -> QuerySet[Mention]:
    """The open mentions (new or assigned) of a queue that the agent may work, oldest first:
    every one, the agent's own, or nobody's."""
    open_ = Mention.objects.filter(
        mentions_visible_to(agent), status__in=[Mention.Status.NEW, Mention.Status.ASSIGNED]
    )
    if queue == "mine":
        open_ = open_.filter(assigned_to=agent)
    elif queue == "unassigned":
        open_ = open_.filter(assigned_to__isnull=True)
    return open_.select_related("brand", "assigned_to", "suggestion").order_by("received_at", "id")


def mentions_overdue(*, agent: Account, now: datetime | None = None) -> int:
    """Open mentions the agent may work that are older than the response target."""
    cutoff = (now or timezone.now()) - response_target()
    return mentions_queue(agent=agent).filter(received_at__lt=cutoff).count()


def agents_to_assign() -> QuerySet[Account]:
    """Who a lead may give a mention to: active people allowed to work mentions."""
    return (
        Account.objects.filter(is_active=True)
        .filter(Q(groups__permissions__codename="change_mention") | Q(is_superuser=True))
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
