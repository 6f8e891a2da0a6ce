"""What the webhooks read, and who sees which subscription.

Who sees what (the permission to manage webhooks aside, which only editors and superusers hold):

============================================  ==================================================
Someone who...                                sees subscriptions (and their deliveries)...
============================================  ==================================================
serves no brand in particular, a superuser    every one
serves particular brands (``Brand.members``)  those for some of their brands and no other brand;
                                              never one for every brand (no brands named)
============================================  ==================================================

A subscription receives a mention's events when it names the mention's brand, names no brand,
or the mention has none, and its creator would see the mention in the inbox
(console.selectors.may_work_for) at the time of the event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from kb.models import Brand
from kb.selectors import brands_served_by
from webhooks.models import Delivery, Subscription


def subscriptions_visible_to(user: Any) -> QuerySet[Subscription]:
    """The subscriptions ``user`` may see and end (the table above)."""
    rows = Subscription.objects.select_related("created_by").prefetch_related("brands")
    served = brands_served_by(user)
    if served is None:
        return rows
    ids = [brand.pk for brand in served]
    return rows.filter(brands__in=ids).exclude(brands__in=Brand.objects.exclude(pk__in=ids)).distinct()


def deliveries_visible_to(user: Any) -> QuerySet[Delivery]:
    """The deliveries of the subscriptions ``user`` may see, latest first."""
    return Delivery.objects.filter(subscription__in=subscriptions_visible_to(user)).select_related(
        "subscription"
    )


def earlier_undelivered(delivery: Delivery) -> QuerySet[Delivery]:
    """Pending deliveries of the same subscription about the same mention, made before this one:
    while any is left, this one waits (a receiver gets a mention's events in order)."""
    return Delivery.objects.filter(
        subscription_id=delivery.subscription_id,
        mention_id=delivery.mention_id,
        status=Delivery.Status.PENDING,
        pk__lt=delivery.pk,
    )


def deliveries_due(
    *, now: datetime | None = None, subscription_id: int | None = None, limit: int = 500
) -> list[int]:
    """Pending deliveries of active subscriptions (or of one) whose next attempt is due and whose
    turn it is (no earlier one about the same mention is pending), oldest first."""
    earlier = Delivery.objects.filter(
        subscription_id=OuterRef("subscription_id"),
        mention_id=OuterRef("mention_id"),
        status=Delivery.Status.PENDING,
        pk__lt=OuterRef("pk"),
    )
    due = Delivery.objects.filter(
        status=Delivery.Status.PENDING,
        next_attempt_at__lte=now or timezone.now(),
        subscription__active=True,
    ).exclude(Exists(earlier))
    if subscription_id is not None:
        due = due.filter(subscription_id=subscription_id)
    return list(due.order_by("pk").values_list("pk", flat=True)[:limit])


def next_in_turn(delivery: Delivery) -> int | None:
    """The pending delivery about the same mention for the same subscription that comes next."""
    later = Delivery.objects.filter(
        subscription_id=delivery.subscription_id,
        mention_id=delivery.mention_id,
        status=Delivery.Status.PENDING,
        pk__gt=delivery.pk,
    )
    return later.order_by("pk").values_list("pk", flat=True).first()
