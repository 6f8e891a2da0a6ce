"""Response times against the response targets (console.sla), for leads: first response and
resolution in business minutes, breaches, median and 90th percentile, and the share within
target, in all and per brand and channel.

- First response: a mention's arrival (``received_at``) to the moment it was answered or
  dismissed (``closed_at``), against its brand and channel's ``first_response_minutes``.
- Resolution: a thread's first mention to the moment its last one was closed (a mention its
  channel puts in no thread is a thread of one), against the first mention's
  ``resolution_minutes``; threads whose target sets none are timed, never breached.

A mention still open is a breach once its target has passed (``open_breached``); until then it
is neither within nor over. Times are measured against the targets as they stand now. Mentions
count in the period they arrived in; a thread in the period its first mention arrived in."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from console.models import Mention
from console.sla import Target, TargetBook, business_minutes
from insights.analytics import AnalyticsFilter
from kb.models import Brand

SLA_DEFINITION = (
    "First response: from a mention's arrival to its answer or dismissal; resolution: from a "
    "thread's first mention to the close of its last. Both in business minutes (the clock stops "
    "outside the team's hours), against the most specific response target for the brand and "
    "channel. A breach is a time over the target, or a mention still open past it. Within target "
    "= closed in time ÷ (closed + open past the target)."
)
CHUNK = 500


@dataclass(frozen=True)
class Timed:
    """One mention (or thread) as the clock measured it."""

    brand_id: int | None
    channel: str
    minutes: float | None  # None while open
    target_minutes: int | None  # None: no target for this measure
    open_minutes: float = 0.0  # business minutes elapsed so far, while open

    @property
    def closed(self) -> bool:
        return self.minutes is not None

    @property
    def breached(self) -> bool:
        if self.target_minutes is None:
            return False
        spent = self.minutes if self.minutes is not None else self.open_minutes
        return spent > self.target_minutes


@dataclass(frozen=True)
class Measure:
    """How one kind of time fared over a set of mentions or threads."""

    closed: int  # timed to the end
    within: int  # closed within target
    breached: int  # closed over target
    open_breached: int  # still open, past target
    open: int  # still open, all of them
    median_minutes: float | None
    p90_minutes: float | None
    targeted: int = 0  # closed under a target for this measure

    @property
    def breaches(self) -> int:
        return self.breached + self.open_breached

    @property
    def within_share(self) -> float | None:
        decided = self.within + self.breaches
        return self.within / decided if decided else None


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """Interpolated between the two nearest ranks, as PostgreSQL's percentile_cont (and
    insights.analytics) do."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def measure(items: Iterable[Timed]) -> Measure:
    items = list(items)
    closed = sorted(item.minutes for item in items if item.minutes is not None)
    targeted = [item for item in items if item.closed and item.target_minutes is not None]
    breached = sum(1 for item in targeted if item.breached)
    return Measure(
        closed=len(closed),
        within=len(targeted) - breached,
        breached=breached,
        open_breached=sum(1 for item in items if not item.closed and item.breached),
        open=sum(1 for item in items if not item.closed),
        median_minutes=percentile(closed, 0.5),
        p90_minutes=percentile(closed, 0.9),
        targeted=len(targeted),
    )


@dataclass(frozen=True)
class Group:
    """One brand on one channel."""

    brand_key: str | None
    brand_name: str
    channel: str
    target: Target
    first_response: Measure
    resolution: Measure


@dataclass(frozen=True)
class SlaReport:
    first_response: Measure
    resolution: Measure
    groups: list[Group] = field(default_factory=list)  # most breaches first


MENTION_FIELDS = ("id", "brand_id", "channel", "received_at", "closed_at", "conversation_id", "external_id")


def mentions_in(filters: AnalyticsFilter) -> QuerySet[Mention]:
    """The mentions that arrived in the period, of the brand and channel when given."""
    mentions = Mention.objects.filter(received_at__gte=filters.starts_at, received_at__lt=filters.ends_before)
    if filters.brand is not None:
        mentions = mentions.filter(brand=filters.brand)
    if filters.channel:
        mentions = mentions.filter(channel=filters.channel)
    return mentions


def first_response_timed(mention: Mention, target: Target, now: datetime) -> Timed:
    closed_at = mention.closed_at
    return Timed(
        brand_id=mention.brand_id,
        channel=mention.channel,
        minutes=None if closed_at is None else business_minutes(mention.received_at, closed_at, target),
        target_minutes=target.first_response_minutes,
        open_minutes=business_minutes(mention.received_at, now, target) if closed_at is None else 0.0,
    )


def first_responses_timed(mentions: Iterable[Mention], *, book: TargetBook, now: datetime) -> list[Timed]:
    """Each mention's first response against its brand and channel's target."""
    return [first_response_timed(m, book.target_for(m.brand_id, m.channel), now) for m in mentions]


def thread_key(mention: Mention) -> tuple[int | None, str, str]:
    return (mention.brand_id, mention.channel, mention.conversation_id or mention.external_id)


def threads_of(mentions: list[Mention]) -> list[list[Mention]]:
    """The threads the mentions open, each with its later mentions (those arrived after the
    period too), oldest first."""
    if not mentions:
        return []
    threads: dict[tuple[int | None, str, str], list[Mention]] = defaultdict(list)
    for mention in mentions:
        threads[thread_key(mention)].append(mention)
    seen = {mention.pk for mention in mentions}
    keys = sorted({key[2] for key in threads})
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        others = (
            Mention.objects.filter(Q(conversation_id__in=chunk) | Q(external_id__in=chunk))
            .exclude(pk__in=seen)
            .only(*MENTION_FIELDS)
        )
        for other in others:
            if thread_key(other) in threads:
                threads[thread_key(other)].append(other)
    ordered = [sorted(thread, key=lambda item: (item.received_at, item.pk)) for thread in threads.values()]
    # A thread whose first mention is not among them began before: it counts in its own period.
    return [thread for thread in ordered if thread[0].pk in seen]


def resolution_timed(thread: list[Mention], target: Target, now: datetime) -> Timed:
    first = thread[0]
    closes = [mention.closed_at for mention in thread]
    resolved = None if any(close is None for close in closes) else max(c for c in closes if c is not None)
    return Timed(
        brand_id=first.brand_id,
        channel=first.channel,
        minutes=None if resolved is None else business_minutes(first.received_at, resolved, target),
        target_minutes=target.resolution_minutes,
        open_minutes=business_minutes(first.received_at, now, target) if resolved is None else 0.0,
    )


@dataclass(frozen=True)
class TimedMentions:
    first_response: list[Timed]
    resolution: list[Timed]


def mentions_timed(
    mentions: QuerySet[Mention], *, book: TargetBook | None = None, now: datetime | None = None
) -> TimedMentions:
    """Each mention's first response and each thread's resolution, timed against its target."""
    book = book or TargetBook.load()
    now = now or timezone.now()
    rows = list(mentions.only(*MENTION_FIELDS).order_by("received_at", "pk"))
    first = first_responses_timed(rows, book=book, now=now)
    resolution = [
        resolution_timed(thread, book.target_for(thread[0].brand_id, thread[0].channel), now)
        for thread in threads_of(rows)
    ]
    return TimedMentions(first_response=first, resolution=resolution)


def sla_report(*, filters: AnalyticsFilter, now: datetime | None = None) -> SlaReport:
    """First response and resolution against target for the period's mentions, in all and per
    brand and channel (groups with the most breaches first)."""
    book = TargetBook.load()
    timed = mentions_timed(mentions_in(filters), book=book, now=now)
    by_group: dict[tuple[int | None, str], tuple[list[Timed], list[Timed]]] = defaultdict(lambda: ([], []))
    for item in timed.first_response:
        by_group[(item.brand_id, item.channel)][0].append(item)
    for item in timed.resolution:
        by_group[(item.brand_id, item.channel)][1].append(item)
    brands = _brand_names({brand_id for brand_id, _ in by_group if brand_id is not None})
    groups = [
        Group(
            brand_key=brands[brand_id][0] if brand_id is not None else None,
            brand_name=brands[brand_id][1] if brand_id is not None else "No brand",
            channel=channel,
            target=book.target_for(brand_id, channel),
            first_response=measure(first),
            resolution=measure(resolution),
        )
        for (brand_id, channel), (first, resolution) in by_group.items()
    ]
    groups.sort(
        key=lambda group: (
            -(group.first_response.breaches + group.resolution.breaches),
            group.brand_key or "",
            group.channel,
        )
    )
    return SlaReport(
        first_response=measure(timed.first_response), resolution=measure(timed.resolution), groups=groups
    )


def _brand_names(ids: set[int]) -> dict[int, tuple[str, str]]:
    return {brand.pk: (brand.key, brand.name) for brand in Brand.objects.filter(pk__in=ids)}
