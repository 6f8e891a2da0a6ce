"""What the connectors read: the connections due a poll."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from connectors.models import XConnection


def connections_due() -> list[int]:
    """Connected X accounts not waiting out a rate limit, by id."""
    waiting = Q(rate_limited_until__gt=timezone.now())
    due = XConnection.objects.filter(status=XConnection.Status.ACTIVE).exclude(waiting)
    return list(due.order_by("pk").values_list("pk", flat=True))
