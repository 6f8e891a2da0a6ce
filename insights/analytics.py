"""Reads for editors and leads: how often each response is suggested and sent, what mentions are
about over time, how many the engine abstained on, and how quickly mentions are answered.

Every selector takes one ``AnalyticsFilter`` and counts in the database (conditional counts, no
per-row queries), with the ORM only, so the same code runs on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, FilteredRelation, OuterRef, Q
from django.db.models.functions import Trunc
from django.utils import timezone

from kb.models import Brand
from kb.roles import INTEGRATIONS
from suggestions.models import Feedback, SuggestedResponse, SuggestionRequest

DEFAULT_DAYS = 30
BUCKETS = ("day", "week")

ACCEPTANCE_RATE_DEFINITION = (
    "Acceptance rate = showings after which an agent sent the response (accepted as is or edited) "
    "÷ times the response was shown. Accepted, edited and rejected count showings with at least one "
    "such answer, so when two agents answer the same showing differently it counts in both columns, "
    "but only once in the rate. Mentions the engine abstained on were never shown and never count, "
    "even when an agent unfolded a candidate and sent it (the summary counts those answers)."
)


@dataclass(frozen=True)
class AnalyticsFilter:
    """Which mentions to count: those the engine answered from ``since`` to ``until`` (whole days,
    both included, in the site's time zone), for one brand and one channel when given."""

    since: date
    until: date
    brand: Brand | None = None
    channel: str = ""

    @property
    def starts_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.since, time.min))

    @property
    def ends_before(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.until + timedelta(days=1), time.min))

    def mentions_q(self, prefix: str = "") -> Q:
        """The condition on SuggestionRequest, reached through ``prefix`` (e.g. ``"request__"``)."""
        q = Q(**{f"{prefix}created_at__gte": self.starts_at, f"{prefix}created_at__lt": self.ends_before})
        if self.brand is not None:
            q &= Q(**{f"{prefix}brand": self.brand})
        if self.channel:
            q &= Q(**{f"{prefix}channel": self.channel})
        return q


def analytics_filter(
    *,
    brand: Brand | None = None,
    channel: str = "",
    since: date | None = None,
    until: date | None = None,
    today: date | None = None,
) -> AnalyticsFilter:
    """A filter with the period filled in: it ends today and spans the last 30 days unless told."""
    until = until or today or timezone.localdate()
    since = since or until - timedelta(days=DEFAULT_DAYS - 1)
    return AnalyticsFilter(since=since, until=until, brand=brand, channel=channel)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# -- Responses and issues: how often shown, how often sent ------------------------------------------


@dataclass(frozen=True)
class Usage:
    """How one response (or every response of one issue) fared when shown to agents."""

    issue_key: str
    issue_title: str
    response_key: str  # empty for an issue
    channel: str  # the response's channel; empty for an issue
    suggested: int  # times shown, at any position
    shown_first: int  # for an issue: the mentions it answered (a mention belongs to its first suggestion)
    accepted: int
    edited: int
    rejected: int
    sent: int  # showings accepted or edited by at least one agent

    @property
    def acceptance_rate(self) -> float | None:
        """Sent ÷ suggested; None when never shown (see ACCEPTANCE_RATE_DEFINITION)."""
        return _share(self.sent, self.suggested)


def _usage_rows(filters: AnalyticsFilter, *group_by: str) -> list[dict[str, Any]]:
    """Shown suggestions grouped by ``group_by``, with the agents' answers counted per showing."""
    answers = Feedback.objects.filter(request=OuterRef("request"), response=OuterRef("response"))

    def answered(*actions: str) -> Q:
        return Q(Exists(answers.filter(action__in=actions)))

    return list(
        SuggestedResponse.objects.filter(filters.mentions_q("request__"), shown=True)
        .values(*group_by)
        .annotate(
            suggested=Count("pk"),
            shown_first=Count("pk", filter=Q(position=1)),
            accepted=Count("pk", filter=answered(Feedback.Action.ACCEPTED)),
            edited=Count("pk", filter=answered(Feedback.Action.EDITED)),
            rejected=Count("pk", filter=answered(Feedback.Action.REJECTED)),
            sent=Count("pk", filter=answered(Feedback.Action.ACCEPTED, Feedback.Action.EDITED)),
        )
        .order_by("-suggested", *group_by)
    )


def _counts(row: dict[str, Any]) -> dict[str, int]:
    return {
        name: row[name] for name in ("suggested", "shown_first", "accepted", "edited", "rejected", "sent")
    }


def responses_usage(*, filters: AnalyticsFilter) -> list[Usage]:
    """Each response shown in the period: times shown, times shown first, showings accepted,
    edited and rejected, and its acceptance rate (ACCEPTANCE_RATE_DEFINITION); most shown first."""
    rows = _usage_rows(filters, "response__key", "response__channel", "issue__key", "issue__title")
    return [
        Usage(
            issue_key=row["issue__key"],
            issue_title=row["issue__title"],
            response_key=row["response__key"],
            channel=row["response__channel"],
            **_counts(row),
        )
        for row in rows
    ]


def issues_usage(*, filters: AnalyticsFilter) -> list[Usage]:
    """Acceptance by issue: the same counts as responses_usage, over all of an issue's responses;
    ``shown_first`` is the number of mentions the issue answered."""
    rows = _usage_rows(filters, "issue__key", "issue__title")
    return [
        Usage(
            issue_key=row["issue__key"],
            issue_title=row["issue__title"],
            response_key="",
            channel="",
            **_counts(row),
        )
        for row in rows
    ]


# -- Over time --------------------------------------------------------------------------------------


def bucket_starts(*, filters: AnalyticsFilter, bucket: str) -> list[date]:
    """The first day of every bucket in the period (weeks start on Monday, as ISO weeks do)."""
    step = timedelta(days=7 if bucket == "week" else 1)
    first = filters.since - timedelta(days=filters.since.weekday()) if bucket == "week" else filters.since
    return [first + step * n for n in range((filters.until - first) // step + 1)]


def _by_bucket(filters: AnalyticsFilter, bucket: str) -> Any:
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}")
    return SuggestionRequest.objects.filter(filters.mentions_q()).annotate(
        period=Trunc("created_at", bucket, tzinfo=timezone.get_current_timezone())
    )


def _day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


@dataclass(frozen=True)
class Series:
    """Mentions per bucket that belong to one issue (their first suggestion's), or abstained ones."""

    issue_key: str  # empty for the abstained series
    label: str
    counts: list[int]

    @property
    def abstained(self) -> bool:
        return not self.issue_key

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Volume:
    periods: list[date]  # the first day of each bucket, every bucket of the period
    series: list[Series]  # issues with the most mentions first; the abstained series last


ABSTAINED_LABEL = "Abstained (nothing shown)"


def issues_volume(*, filters: AnalyticsFilter, bucket: str = "day") -> Volume:
    """Mention volume per issue over time. A mention belongs to the issue of its first suggestion;
    mentions the engine abstained on form their own series. Buckets with no mention count 0."""
    rows = (
        _by_bucket(filters, bucket)
        .annotate(first=FilteredRelation("suggested", condition=Q(suggested__position=1)))
        .values("period", "abstained", "first__issue__key", "first__issue__title")
        .annotate(mentions=Count("pk"))
        .order_by()
    )
    periods = bucket_starts(filters=filters, bucket=bucket)
    column = {period: n for n, period in enumerate(periods)}
    counts: dict[str, list[int]] = {}
    labels = {"": ABSTAINED_LABEL}
    for row in rows:
        key = "" if row["abstained"] else row["first__issue__key"] or ""
        labels.setdefault(key, row["first__issue__title"])
        counts.setdefault(key, [0] * len(periods))[column[_day(row["period"])]] += row["mentions"]
    series = [Series(issue_key=key, label=labels[key], counts=values) for key, values in counts.items()]
    series.sort(key=lambda item: (item.abstained, -item.total, item.issue_key))
    return Volume(periods=periods, series=series)


@dataclass(frozen=True)
class AbstainPoint:
    period: date
    mentions: int
    abstained: int

    @property
    def rate(self) -> float | None:
        return _share(self.abstained, self.mentions)


def abstentions_over_time(*, filters: AnalyticsFilter, bucket: str = "day") -> list[AbstainPoint]:
    """Mentions and abstentions per bucket, every bucket of the period (rate None when empty)."""
    rows = (
        _by_bucket(filters, bucket)
        .values("period")
        .annotate(mentions=Count("pk"), abstained=Count("pk", filter=Q(abstained=True)))
        .order_by()
    )
    found = {_day(row["period"]): (row["mentions"], row["abstained"]) for row in rows}
    return [
        AbstainPoint(period, *found.get(period, (0, 0)))
        for period in bucket_starts(filters=filters, bucket=bucket)
    ]


# -- Summary ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    mentions: int
    abstained: int
    answered: int  # a reply was sent (accepted or edited feedback)
    answered_from_candidates: int  # of those, abstained: the reply was a candidate, folded away
    with_received_at: int  # the integration reported when the mention reached the brand
    timed: int  # answered, with received_at: the mentions the times below describe
    answer_median: timedelta | None
    answer_p90: timedelta | None
    # Of the mentions, those neither from the inbox nor from an integration's token: people trying
    # the engine (the API with their own token, the `suggest` command).
    trials: int = 0

    @property
    def abstained_share(self) -> float | None:
        return _share(self.abstained, self.mentions)

    @property
    def answered_share(self) -> float | None:
        return _share(self.answered, self.mentions)


def mentions_summary(*, filters: AnalyticsFilter) -> Summary:
    """Mentions, how many the engine abstained on and how many were answered (and of those, how
    many the engine abstained on: answered with a candidate an agent unfolded), and the time from
    mention to answer (answered_at - received_at: median and 90th percentile, interpolated) over
    the mentions whose integration reported received_at."""
    mentions = SuggestionRequest.objects.filter(filters.mentions_q())
    answered = Q(answered_at__isnull=False)
    received = Q(received_at__isnull=False)
    counts = mentions.aggregate(
        # A request is answered only by feedback on a draft it offered: abstained, a candidate.
        # First, while "abstained" still names the field rather than the count below.
        answered_from_candidates=Count("pk", filter=answered & Q(abstained=True)),
        mentions=Count("pk"),
        abstained=Count("pk", filter=Q(abstained=True)),
        answered=Count("pk", filter=answered),
        with_received_at=Count("pk", filter=received),
        timed=Count("pk", filter=answered & received),
    )
    waits = (
        mentions.filter(answered & received)
        .annotate(wait=ExpressionWrapper(F("answered_at") - F("received_at"), output_field=DurationField()))
        .order_by("wait", "pk")
        .values_list("wait", flat=True)
    )
    return Summary(
        **counts,
        answer_median=_percentile(waits, counts["timed"], 0.5),
        answer_p90=_percentile(waits, counts["timed"], 0.9),
        trials=_trials(mentions).count(),
    )


def _trials(requests: Any) -> Any:
    """The requests no inbox mention and no integration's token made."""
    integration = User.groups.through.objects.filter(user=OuterRef("requested_by"), group__name=INTEGRATIONS)
    return requests.filter(mention__isnull=True).exclude(Exists(integration))


def _percentile(ordered: Any, count: int, fraction: float) -> timedelta | None:
    """The ``fraction`` percentile of ``count`` ordered values, interpolated between the two
    nearest ranks (as PostgreSQL's percentile_cont); reads at most two rows."""
    if not count:
        return None
    position = fraction * (count - 1)
    low = math.floor(position)
    values = list(ordered[low : low + 2])
    if len(values) == 1:
        return values[0]
    return values[0] + (values[1] - values[0]) * (position - low)
