"""Staffing from the console's own record (console.models.MentionEvent): how much work arrives in
each hour of the week, how long it takes, how many agents that needs (Erlang C, insights.erlang)
and how many actually worked.

For a period (an ``AnalyticsFilter``: whole days, a brand and a channel when given), in the site's
time zone:

- arrivals per hour: mentions received in that hour of the week ÷ the times that hour occurs in
  the period (a 30-day period holds four or five Mondays);
- handling time of a mention: from the closing agent's first "taken" or "opened" (after the last
  hand-over: released, assigned or escalated) to its "answered" or "dismissed"; a mention closed
  without either is not timed. An hour's handle minutes are the mean over the timed mentions that
  arrived in it, or the whole period's mean when fewer than MIN_TIMED_PER_HOUR of them were timed;
- agents needed: the fewest agents answering ``service_level`` of mentions within
  ``target_minutes`` at that arrival rate and handle time;
- agents worked: distinct agents with an event in that hour, averaged over its occurrences.

Per agent: answered, median first response (arrival to their answer), median handle time,
drafts sent as is and edited (suggestions.models.Feedback), and the share of drafts sent as is.
Per issue (of the mention's first suggestion): median handle time."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from console.models import Mention, MentionEvent
from insights.analytics import AnalyticsFilter
from insights.erlang import agents_needed
from suggestions.models import Feedback, SuggestedResponse

MIN_TIMED_PER_HOUR = 5
NO_ISSUE = "No issue (abstained, or not answered yet)"
Row = Mapping[str, Any]
HOURS_OF_WEEK = [(weekday, hour) for weekday in range(7) for hour in range(24)]

Kind = MentionEvent.Kind
STARTS = (Kind.TAKEN, Kind.OPENED)
CLOSES = (Kind.ANSWERED, Kind.DISMISSED)
HAND_OVERS = (Kind.RELEASED, Kind.ASSIGNED, Kind.ESCALATED)


@dataclass(frozen=True)
class StaffingGoal:
    """The promise a team staffs for: ``service_level`` of mentions answered within ``target_minutes``."""

    target_minutes: float
    service_level: float


@dataclass(frozen=True)
class HourOfWeek:
    weekday: int  # Monday 0
    hour: int
    occurrences: int  # how often this hour of the week falls in the period
    arrivals: int  # mentions received in it over the whole period
    arrivals_per_hour: float
    timed: int  # of those, mentions with a handling time
    handle_minutes: float | None  # None when nothing in the period was timed
    load: float | None  # Erlangs: arrivals per hour x handle minutes / 60
    agents_needed: int | None
    agents_worked: float


@dataclass(frozen=True)
class AgentFigures:
    username: str
    name: str
    answered: int
    dismissed: int
    median_first_response_minutes: float | None
    median_handle_minutes: float | None
    drafts_accepted: int  # drafts sent as they were
    drafts_edited: int  # drafts changed before sending

    @property
    def acceptance_rate(self) -> float | None:
        """Drafts sent as they were ÷ drafts sent; None when the agent sent none."""
        sent = self.drafts_accepted + self.drafts_edited
        return self.drafts_accepted / sent if sent else None


@dataclass(frozen=True)
class IssueHandling:
    key: str | None  # None: the engine abstained, or has not answered
    title: str
    timed: int
    median_handle_minutes: float | None


@dataclass(frozen=True)
class Staffing:
    goal: StaffingGoal
    hours: list[HourOfWeek]
    arrivals: int
    timed: int
    mean_handle_minutes: float | None
    agents: list[AgentFigures]
    issues: list[IssueHandling]


@dataclass(frozen=True)
class _Handled:
    arrived: datetime
    agent_id: int
    kind: str
    closed: datetime
    minutes: float | None


def staffing_read(*, filters: AnalyticsFilter, goal: StaffingGoal) -> Staffing:
    """Arrivals, handling, agents needed and worked for each of the 168 hours of the week, and the
    per-agent and per-issue figures, for the mentions ``filters`` selects."""
    mentions = _mentions(filters)
    arrived = {row["pk"]: row for row in mentions}
    handled = _handling(arrived, _events(_mention_q(filters)))
    occurrences = _occurrences(filters.since, filters.until)
    slot_arrivals = Counter(_slot(row["received_at"]) for row in mentions)
    timed = [(item.arrived, item.minutes) for item in handled.values() if item.minutes is not None]
    mean_handle = statistics.fmean(minutes for _, minutes in timed) if timed else None
    slot_minutes: dict[tuple[int, int], list[float]] = defaultdict(list)
    for arrival, minutes in timed:
        slot_minutes[_slot(arrival)].append(minutes)
    worked = _agents_worked(filters)
    hours = []
    for slot in HOURS_OF_WEEK:
        count, times = occurrences[slot[0]], slot_minutes.get(slot, [])
        handle = statistics.fmean(times) if len(times) >= MIN_TIMED_PER_HOUR else mean_handle
        rate = slot_arrivals[slot] / count if count else 0.0
        needed = _needed(rate, handle, goal)
        hours.append(
            HourOfWeek(
                weekday=slot[0],
                hour=slot[1],
                occurrences=count,
                arrivals=slot_arrivals[slot],
                arrivals_per_hour=rate,
                timed=len(times),
                handle_minutes=handle,
                load=None if handle is None else rate * handle / 60,
                agents_needed=needed,
                agents_worked=worked[slot] / count if count else 0.0,
            )
        )
    return Staffing(
        goal=goal,
        hours=hours,
        arrivals=len(mentions),
        timed=len(timed),
        mean_handle_minutes=mean_handle,
        agents=_agents(filters, handled),
        issues=_issues(arrived, handled),
    )


@dataclass(frozen=True)
class MentionTimed:
    arrived: datetime
    minutes: float | None  # None: not closed, or closed without a take or an opening


def mentions_timed(*, filters: AnalyticsFilter) -> list[MentionTimed]:
    """Every mention ``filters`` selects, in arrival order, with its handling minutes as
    staffing_read measures them (for checking its recommendations against a simulation)."""
    arrived = {row["pk"]: row for row in _mentions(filters)}
    handled = _handling(arrived, _events(_mention_q(filters)))
    timed = [
        MentionTimed(row["received_at"], getattr(handled.get(pk), "minutes", None))
        for pk, row in arrived.items()
    ]
    return sorted(timed, key=lambda item: item.arrived)


def _needed(rate: float, handle: float | None, goal: StaffingGoal) -> int | None:
    if rate == 0:
        return 0
    if handle is None or handle <= 0:
        return None
    return agents_needed(
        arrivals_per_hour=rate,
        handle_minutes=handle,
        target_minutes=goal.target_minutes,
        service_level_wanted=goal.service_level,
    )


def _slot(moment: datetime) -> tuple[int, int]:
    local = timezone.localtime(moment)
    return local.weekday(), local.hour


def _occurrences(since: date, until: date) -> Counter[int]:
    """How many days of each weekday the period holds."""
    return Counter((since + timedelta(days=n)).weekday() for n in range((until - since).days + 1))


def _mention_q(filters: AnalyticsFilter, prefix: str = "") -> Q:
    q = Q()
    if filters.brand is not None:
        q &= Q(**{f"{prefix}brand": filters.brand})
    if filters.channel:
        q &= Q(**{f"{prefix}channel": filters.channel})
    return q


def _mentions(filters: AnalyticsFilter) -> list[Row]:
    first_issue = SuggestedResponse.objects.filter(request=OuterRef("suggestion"), position=1)
    return list(
        Mention.objects.filter(
            _mention_q(filters), received_at__gte=filters.starts_at, received_at__lt=filters.ends_before
        )
        .annotate(
            issue_key=Subquery(first_issue.values("issue__key")[:1]),
            issue_title=Subquery(first_issue.values("issue__title")[:1]),
        )
        .values("pk", "received_at", "issue_key", "issue_title")
    )


def _events(mention_q: Q) -> Iterable[Row]:
    return (
        MentionEvent.objects.filter(Q(mention__in=Mention.objects.filter(mention_q)))
        .exclude(kind=Kind.RECEIVED)
        .order_by("mention_id", "at", "id")
        .values("mention_id", "kind", "agent_id", "at")
    )


def _handling(arrived: dict[int, Row], events: Iterable[Row]) -> dict[int, _Handled]:
    """Each closed mention of ``arrived``: who closed it, how, when, and its handling minutes."""
    by_mention: dict[int, list[Row]] = defaultdict(list)
    for event in events:
        if event["mention_id"] in arrived:
            by_mention[event["mention_id"]].append(event)
    handled = {}
    for pk, log in by_mention.items():
        close = next((event for event in reversed(log) if event["kind"] in CLOSES), None)
        if close is None or close["agent_id"] is None:
            continue
        handled[pk] = _Handled(
            arrived=arrived[pk]["received_at"],
            agent_id=close["agent_id"],
            kind=close["kind"],
            closed=close["at"],
            minutes=_handle_minutes(log, close),
        )
    return handled


def _handle_minutes(log: list[Row], close: Row) -> float | None:
    start = None
    for event in log:
        if event is close:
            break
        if event["kind"] in HAND_OVERS:
            start = None
        elif event["kind"] in STARTS and event["agent_id"] == close["agent_id"] and start is None:
            start = event["at"]
    return None if start is None else (close["at"] - start).total_seconds() / 60


def _agents_worked(filters: AnalyticsFilter) -> Counter[tuple[int, int]]:
    """For each hour of the week, the sum over its occurrences of the distinct agents at work."""
    rows = (
        MentionEvent.objects.filter(
            _mention_q(filters, "mention__"),
            at__gte=filters.starts_at,
            at__lt=filters.ends_before,
            agent__isnull=False,
        )
        .exclude(kind=Kind.RECEIVED)
        .values_list("agent_id", "at")
    )
    at_work = {
        (agent, timezone.localtime(at).replace(minute=0, second=0, microsecond=0)) for agent, at in rows
    }
    return Counter((hour.weekday(), hour.hour) for _, hour in at_work)


def _hour_start(moment: datetime) -> datetime:
    return timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _agents(filters: AnalyticsFilter, handled: dict[int, _Handled]) -> list[AgentFigures]:
    closed_by: dict[int, list[_Handled]] = defaultdict(list)
    for item in handled.values():
        closed_by[item.agent_id].append(item)
    drafts = Counter(
        Feedback.objects.filter(
            filters.mentions_q("request__"),
            given_by__isnull=False,
            action__in=(Feedback.Action.ACCEPTED, Feedback.Action.EDITED),
        ).values_list("given_by_id", "action")
    )
    ids = set(closed_by) | {agent for agent, _ in drafts}
    figures = []
    for user in User.objects.filter(pk__in=ids).order_by("username"):
        items = closed_by.get(user.pk, [])
        answers = [item for item in items if item.kind == Kind.ANSWERED]
        figures.append(
            AgentFigures(
                username=user.get_username(),
                name=user.get_full_name() or user.get_username(),
                answered=len(answers),
                dismissed=len(items) - len(answers),
                median_first_response_minutes=_median(
                    [(item.closed - item.arrived).total_seconds() / 60 for item in answers]
                ),
                median_handle_minutes=_median([item.minutes for item in items if item.minutes is not None]),
                drafts_accepted=drafts[(user.pk, Feedback.Action.ACCEPTED)],
                drafts_edited=drafts[(user.pk, Feedback.Action.EDITED)],
            )
        )
    return figures


def _issues(arrived: dict[int, Row], handled: dict[int, _Handled]) -> list[IssueHandling]:
    minutes: dict[tuple[str | None, str], list[float]] = defaultdict(list)
    for pk, item in handled.items():
        if item.minutes is not None:
            row = arrived[pk]
            minutes[
                (row["issue_key"], row["issue_title"] or "No issue (abstained or not yet answered)")
            ].append(item.minutes)
    issues = [
        IssueHandling(key=key, title=title, timed=len(values), median_handle_minutes=_median(values))
        for (key, title), values in minutes.items()
    ]
    return sorted(issues, key=lambda issue: (-issue.timed, issue.title))
