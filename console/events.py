"""The log of what happens to each mention in the console (``MentionEvent``): received, opened,
taken, assigned, released, escalated, answered, dismissed. Handling times, the agents at work
each hour and the per-agent figures of insights.staffing are read from it.

Each transition in console.services records its event inside the transaction that makes the
change, so the log never shows a transition that was rolled back. ``agent`` is who acted (for
"assigned", the lead who gave the mention away; the assignee is then its holder)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User as Account
from django.utils import timezone

from console.models import Mention, MentionEvent

# A page reloaded or polled while an agent reads it is one opening, not many.
OPENED_AT_MOST_EVERY = timedelta(minutes=10)


def event_record(
    mention: Mention, kind: str, agent: Account | None = None, at: datetime | None = None
) -> MentionEvent:
    """Record that ``kind`` (a MentionEvent.Kind) happened to ``mention``, by ``agent``, at ``at``
    (default now)."""
    if kind not in MentionEvent.Kind.values:
        raise ValueError(f"Unknown mention event {kind!r}.")
    return MentionEvent.objects.create(mention=mention, kind=kind, agent=agent, at=at or timezone.now())


def event_opened(mention: Mention, agent: Account, at: datetime | None = None) -> MentionEvent | None:
    """Record that ``agent`` opened an open mention's page, at most once per agent and mention
    every OPENED_AT_MOST_EVERY; None when nothing was recorded."""
    at = at or timezone.now()
    if not mention.is_open:
        return None
    recent = MentionEvent.objects.filter(
        mention=mention, agent=agent, kind=MentionEvent.Kind.OPENED, at__gt=at - OPENED_AT_MOST_EVERY
    )
    if recent.exists():
        return None
    return event_record(mention, MentionEvent.Kind.OPENED, agent=agent, at=at)
