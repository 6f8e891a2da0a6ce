"""A seeded week (or more) of synthetic traffic for one brand, written into the configured
database as the console would leave it: mentions, the engine's first suggestion for each, the
agents' drafts sent as is or edited, and every MentionEvent (received, opened, taken, answered,
dismissed).

    .venv/bin/python -m bench.week_traffic                    # 7 days ending yesterday, seed 16
    .venv/bin/python -m bench.week_traffic --weeks 4 --seed 3 --replace
    .venv/bin/python -m bench.week_traffic --dry-run          # print the week, write nothing
    .venv/bin/python -m bench.week_traffic --open-hours 3 --replace   # leave a backlog open

What it draws (numpy's seeded generator, so a seed gives the same week every time):

- arrivals: a Poisson count for each hour, at a rate that follows the day (quiet nights, a
  morning rise, peaks at lunch and in the evening), lower at weekends, with a Tuesday-afternoon
  disruption that triples the rate for three hours; times spread uniformly within the hour;
- an issue per mention (ISSUES: baggage, delays, refunds, a safety and a privacy issue, praise),
  each with its own share of traffic, handling time and texts — angry, calm, and for praise,
  happy — written for this generator;
- handling minutes from a log-normal distribution around each issue's mean (coefficient of
  variation about 0.55: most mentions are quick, a few take long), not the exponential Erlang C
  assumes;
- agents working shifts (SHIFTS: night, early, day, late, each with a headcount per weekday
  or weekend), sized from the expected work with a little slack, the weekend late shift one
  short; an agent on shift takes the oldest waiting mention (first come, first served), opens
  it, takes it a few seconds later and answers it (praise is dismissed: liked, no reply) after
  its handling time; a mention still waiting at the end of the week stays open in the inbox,
  and so do all those of the last ``--open-hours`` (an overdue backlog for the inbox to order);
- each mention's tone, need of a reply, deadline and inbox order set by console.triage, as the
  console sets them, with the severity of its issue.

The brand is ``synthetic-air`` ("Synthetic Air"), its issues and responses keyed
``synthetic-air-...``, its agents ``shift-agent-NN`` (group Agents, members of the brand). Run it
again with ``--replace`` to delete the brand's earlier mentions first. Then open
/admin/insights/staffing/?brand=synthetic-air, or check the recommendations against a direct
simulation: ``.venv/bin/python -m bench.staffing_check``."""

from __future__ import annotations

import argparse
import heapq
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from console.sla import TargetBook
    from kb.models import Brand, Response

BRAND_KEY = "synthetic-air"
CHANNEL = "twitter"
HANDLE_CV = 0.55  # coefficient of variation of handling times
OPEN_TO_TAKE_SECONDS = 10


@dataclass(frozen=True)
class IssueKind:
    key: str
    title: str
    severity: str
    share: float  # of all mentions
    handle_minutes: float  # mean
    angry: tuple[str, ...]
    calm: tuple[str, ...]
    needs_reply: bool = True


ISSUES: tuple[IssueKind, ...] = (
    IssueKind(
        "baggage",
        "Lost or delayed baggage",
        "normal",
        0.27,
        7.0,
        (
            "@SyntheticAir three days and still no sign of my suitcase from flight {flight}. Useless!!",
            "@SyntheticAir you LOST my bag again on the way from {city} and nobody picks up. Unacceptable.",
            "@SyntheticAir my case came back ripped open and half empty. I want someone to call me today.",
        ),
        (
            "@SyntheticAir hi, my bag did not arrive on {flight} from {city}. Where do I report it?",
            "@SyntheticAir could you tell me how to track a delayed bag? Reference is on my tag.",
            "@SyntheticAir my luggage went to {city} instead of with me, what happens next?",
        ),
    ),
    IssueKind(
        "delay",
        "Delays and cancellations",
        "normal",
        0.30,
        4.5,
        (
            "@SyntheticAir {flight} delayed FIVE hours and not a single update at the gate. Disgraceful.",
            "@SyntheticAir cancelled at midnight with no hotel and no rebooking. Worst airline ever.",
            "@SyntheticAir stuck in {city} again because of you. I will miss my sister's wedding.",
        ),
        (
            "@SyntheticAir is {flight} to {city} still expected to leave on time tonight?",
            "@SyntheticAir my flight was cancelled, how do I get rebooked on the next one?",
            "@SyntheticAir small question: does the delay on {flight} affect my connection in {city}?",
        ),
    ),
    IssueKind(
        "refund",
        "Refunds and compensation",
        "normal",
        0.16,
        9.0,
        (
            "@SyntheticAir eight weeks waiting for my refund. Pay me back or I go to the regulator.",
            "@SyntheticAir you charged my card twice for {flight} and the chat keeps closing on me!",
        ),
        (
            "@SyntheticAir how long does a refund usually take to reach the card?",
            "@SyntheticAir am I entitled to compensation for the {flight} delay? Thanks in advance.",
        ),
    ),
    IssueKind(
        "cabin-safety",
        "Safety on board",
        "safety",
        0.04,
        14.0,
        (
            "@SyntheticAir a burning smell in the cabin on {flight} and the crew ignored us. Scary.",
            "@SyntheticAir the emergency exit row seat on {flight} would not lock upright. Nobody cared!",
        ),
        (
            "@SyntheticAir the oxygen mask panel above 14C on {flight} was hanging loose, please check it.",
            "@SyntheticAir hot water spilled in the aisle on {flight}; a child slipped. Who do I tell?",
        ),
    ),
    IssueKind(
        "account-privacy",
        "Personal data and privacy",
        "privacy",
        0.05,
        11.0,
        (
            "@SyntheticAir your app showed me SOMEONE ELSE'S booking and passport number. Fix this!",
            "@SyntheticAir I never agreed to you sharing my email with partners. Delete my data.",
        ),
        (
            "@SyntheticAir how do I get a copy of the personal data you hold about me?",
            "@SyntheticAir I think someone logged into my frequent flyer account, can you lock it?",
        ),
    ),
    IssueKind(
        "praise",
        "Compliments",
        "low",
        0.18,
        1.2,
        (),
        (
            "@SyntheticAir lovely crew on {flight} today, thank you!",
            "@SyntheticAir landed early in {city} and the bags were out in ten minutes. Great job.",
            "@SyntheticAir shout out to the gate agent in {city} who found me a seat. Legend.",
        ),
        needs_reply=False,
    ),
)
CITIES = ("Lisbon", "Oslo", "Chicago", "Nairobi", "Osaka", "Lima", "Dublin", "Toronto")
ANGRY_SHARE = 0.35  # of the mentions that need a reply


def arrival_rate(weekday: int, hour: int) -> float:
    """Mentions per hour expected at this hour of the week (Monday 0)."""
    daily = (
        2.0
        + 16 * math.exp(-(((hour - 12.5) / 3.0) ** 2))
        + 20 * math.exp(-(((hour - 19.0) / 2.5) ** 2))
        + 8 * math.exp(-(((hour - 8.0) / 1.5) ** 2))
    )
    weekday_factor = (1.0, 1.1, 1.0, 1.0, 1.15, 0.75, 0.7)[weekday]
    disruption = 3.0 if weekday == 1 and 15 <= hour < 18 else 1.0
    return daily * weekday_factor * disruption


@dataclass(frozen=True)
class Shift:
    name: str
    starts: int  # hour of day
    hours: int
    weekday_agents: int
    weekend_agents: int


SHIFTS = (
    Shift("night", 22, 8, 2, 2),
    Shift("early", 6, 8, 4, 3),
    Shift("day", 10, 8, 4, 2),
    Shift("late", 14, 8, 5, 2),
)


@dataclass
class Arrival:
    at: datetime
    issue: IssueKind
    text: str
    angry: bool
    handle_minutes: float
    started: datetime | None = None
    agent: int | None = None  # index into the roster


def draw_arrivals(rng: np.random.Generator, start: datetime, hours: int) -> list[Arrival]:
    shares = np.array([issue.share for issue in ISSUES])
    shares = shares / shares.sum()
    arrivals = []
    for offset in range(hours):
        hour_start = start + timedelta(hours=offset)
        count = rng.poisson(arrival_rate(hour_start.weekday(), hour_start.hour))
        for minute in sorted(rng.uniform(0, 60, size=count)):
            issue = ISSUES[rng.choice(len(ISSUES), p=shares)]
            angry = issue.needs_reply and rng.random() < ANGRY_SHARE
            texts = issue.angry if angry else issue.calm
            text = str(texts[rng.integers(len(texts))]).format(
                flight=f"SY{rng.integers(100, 999)}", city=CITIES[rng.integers(len(CITIES))]
            )
            arrivals.append(
                Arrival(
                    at=hour_start + timedelta(minutes=float(minute)),
                    issue=issue,
                    text=text,
                    angry=bool(angry),
                    handle_minutes=handle_draw(rng, issue.handle_minutes),
                )
            )
    return arrivals


def handle_draw(rng: np.random.Generator, mean: float) -> float:
    """Log-normal minutes with the given mean and HANDLE_CV."""
    sigma2 = math.log(1 + HANDLE_CV**2)
    return float(rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2)))


def roster(start: datetime, hours: int) -> tuple[list[str], Callable[[int, int], bool]]:
    """The agents' names, and whether agent i is on duty in hour h (counted from ``start``)."""
    names: list[str] = []
    seats: list[tuple[Shift, int]] = []
    for shift in SHIFTS:
        for seat in range(max(shift.weekday_agents, shift.weekend_agents)):
            names.append(f"shift-agent-{len(names) + 1:02d}")
            seats.append((shift, seat))

    def on_duty(agent: int, hour: int) -> bool:
        shift, seat = seats[agent]
        moment = start + timedelta(hours=hour)
        # A shift belongs to the day it starts on (the night shift runs past midnight).
        into = (moment.hour - shift.starts) % 24
        if into >= shift.hours:
            return False
        shift_day = (moment - timedelta(hours=into)).weekday()
        return seat < (shift.weekend_agents if shift_day >= 5 else shift.weekday_agents)

    return names, on_duty


def serve_in_order(
    arrivals: Sequence[tuple[float, float]],
    agents: int,
    on_duty: Callable[[int, int], bool],
    horizon_hours: int,
) -> list[tuple[float, int] | None]:
    """First come, first served: for each (arrival, handling) in minutes from the start, in
    arrival order, when an agent starts on it and which one (None: nobody before the horizon).
    An agent takes work only in hours they are on duty, and finishes what they started."""
    free = [0.0] * agents
    starts: list[tuple[float, int] | None] = []
    for arrived, handle in arrivals:
        best: tuple[float, int] | None = None
        for agent in range(agents):
            moment = max(arrived, free[agent])
            hour = int(moment // 60)
            while hour < horizon_hours and not on_duty(agent, hour):
                hour += 1
            if hour >= horizon_hours:
                continue
            moment = max(moment, hour * 60.0)
            if best is None or moment < best[0]:
                best = (moment, agent)
        if best is not None:
            free[best[1]] = best[0] + handle
        starts.append(best)
    return starts


def serve_fixed(arrivals: Sequence[tuple[float, float]], agents: int) -> list[float]:
    """First come, first served with ``agents`` always on duty: each mention's wait in minutes."""
    free = [0.0] * agents
    waits = []
    for arrived, handle in arrivals:
        soonest = heapq.heappop(free)
        start = max(arrived, soonest)
        waits.append(start - arrived)
        heapq.heappush(free, start + handle)
    return waits


def week_draw(seed: int, start: datetime, weeks: int, open_hours: int = 0) -> tuple[list[Arrival], list[str]]:
    """The drawn arrivals, served by the roster in order (those of the last ``open_hours``, and
    any the agents had not finished by the end, left open); and the agents' names."""
    rng = np.random.default_rng(seed)
    hours = 24 * 7 * weeks
    arrivals = draw_arrivals(rng, start, hours)
    names, on_duty = roster(start, hours)
    worked = [item for item in arrivals if item.at < start + timedelta(hours=hours - open_hours)]
    minutes = [((item.at - start).total_seconds() / 60, item.handle_minutes) for item in worked]
    for item, served in zip(worked, serve_in_order(minutes, len(names), on_duty, hours), strict=True):
        if served is not None and start + timedelta(
            minutes=served[0] + item.handle_minutes
        ) < start + timedelta(hours=hours):
            item.started, item.agent = start + timedelta(minutes=served[0]), served[1]
    return arrivals, names


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--weeks", type=int, default=1)
    parser.add_argument(
        "--start", type=date.fromisoformat, help="first day (default: weeks x 7 days before today)"
    )
    parser.add_argument("--replace", action="store_true", help="delete the brand's earlier mentions first")
    parser.add_argument(
        "--open-hours", type=int, default=0, help="leave the last hours' mentions open: an inbox to triage"
    )
    parser.add_argument("--dry-run", action="store_true", help="print what would be written, write nothing")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.utils import timezone

    first_day = args.start or timezone.localdate() - timedelta(days=7 * args.weeks)
    start = timezone.make_aware(datetime.combine(first_day, datetime.min.time()))
    arrivals, names = week_draw(args.seed, start, args.weeks, args.open_hours)
    served = [item for item in arrivals if item.started is not None]
    mean_handle = sum(item.handle_minutes for item in arrivals) / max(len(arrivals), 1)
    print(
        f"{len(arrivals)} mentions from {first_day} ({args.weeks} week(s), seed {args.seed}), "
        f"{len(served)} handled by {len(names)} agents on shifts, mean handling {mean_handle:.2f} min"
    )
    if args.dry_run:
        return
    write(arrivals, names, replace=args.replace, seed=args.seed)
    until = first_day + timedelta(days=7 * args.weeks - 1)
    print(f"Written. Staffing: /admin/insights/staffing/?brand={BRAND_KEY}&since={first_day}&until={until}")


def write(arrivals: list[Arrival], names: list[str], *, replace: bool, seed: int) -> None:
    """Store the drawn traffic through the project's models, in one transaction."""
    from django.contrib.auth.models import Group, User
    from django.db import transaction

    from console.models import Mention
    from console.sla import TargetBook
    from kb.models import Brand, Issue, Response
    from suggestions.models import SuggestionRequest

    rng = np.random.default_rng(seed + 1)
    book = TargetBook.load()
    with transaction.atomic():
        brand, _ = Brand.objects.get_or_create(
            key=BRAND_KEY, defaults={"name": "Synthetic Air", "handle": "@SyntheticAir"}
        )
        existing = Mention.objects.filter(brand=brand)
        if existing.exists():
            if not replace:
                raise SystemExit(f"{BRAND_KEY} already has mentions: run again with --replace.")
            SuggestionRequest.objects.filter(brand=brand).delete()
            existing.delete()
        responses = {}
        for kind in ISSUES:
            issue, _ = Issue.objects.update_or_create(
                key=f"{BRAND_KEY}-{kind.key}",
                defaults={"brand": brand, "title": kind.title, "severity": kind.severity},
            )
            responses[kind.key], _ = Response.objects.update_or_create(
                key=f"{BRAND_KEY}-{kind.key}-reply",
                defaults={
                    "issue": issue,
                    "channel": CHANNEL,
                    "text": "{{ customer_name|default:'Hi' }}, thanks for telling us about this "
                    f"({kind.title.lower()}). We are looking into it now. ^{{{{ agent_initials }}}}",
                    "status": Response.Status.APPROVED,
                },
            )
        agents_group = Group.objects.get(name="Agents")
        agents = []
        for name in names:
            user, _ = User.objects.get_or_create(
                username=name, defaults={"first_name": "Shift", "last_name": name.rsplit("-", 1)[1]}
            )
            user.groups.add(agents_group)
            brand.members.add(user)
            agents.append(user)
        for number, item in enumerate(arrivals):
            _write_one(number, item, brand, responses[item.issue.key], agents, rng, book)


def _write_one(
    number: int,
    item: Arrival,
    brand: Brand,
    response: Response,
    agents: list[User],
    rng: np.random.Generator,
    book: TargetBook,
) -> None:
    from console.models import Mention, MentionEvent
    from console.triage import mention_triage
    from suggestions.models import Feedback, SuggestedResponse, SuggestionRequest

    request = SuggestionRequest.objects.create(
        text=item.text,
        brand=brand,
        channel=CHANNEL,
        external_id=f"week-{number}",
        index_version="synthetic-week",
        received_at=item.at,
        answered_at=item.at,
        results=[
            {
                "response": response.key,
                "response_id": response.pk,
                "issue_id": response.issue_id,
                "issue": {"key": response.issue.key, "title": response.issue.title},
                "text": response.text,
                "confidence": 0.9,
            }
        ],
    )
    SuggestionRequest.objects.filter(pk=request.pk).update(created_at=item.at)
    SuggestedResponse.objects.create(
        request=request, response=response, issue_id=response.issue_id, position=1, confidence=0.9, shown=True
    )
    agent = agents[item.agent] if item.agent is not None else None
    closed_at = item.started + timedelta(minutes=item.handle_minutes) if item.started else None
    needs_reply = item.issue.needs_reply
    status = Mention.Status.NEW
    if agent is not None:
        status = Mention.Status.ANSWERED if needs_reply else Mention.Status.DISMISSED
    mention = Mention(
        text=item.text,
        brand=brand,
        channel=CHANNEL,
        author_handle=f"@traveller{rng.integers(1, 5000)}",
        external_id=f"{BRAND_KEY}-{number}",
        received_at=item.at,
        status=status,
        assigned_to=agent,
        closed_by=agent,
        closed_at=closed_at,
        reply_text="Thanks, we are on it." if agent is not None and needs_reply else "",
        dismiss_reason="Praise: liked, no reply needed" if agent is not None and not needs_reply else "",
        suggestion=request,
    )
    # Tone, whether it needs a reply, deadline and inbox order, as the console sets them.
    mention_triage(mention, book=book, severity=item.issue.severity)
    mention.save()
    Kind = MentionEvent.Kind
    events = [MentionEvent(mention=mention, kind=Kind.RECEIVED, at=item.at)]
    if agent is not None:
        assert item.started is not None and closed_at is not None  # an agent is set with a start
        events += [
            MentionEvent(mention=mention, kind=Kind.OPENED, agent=agent, at=item.started),
            MentionEvent(
                mention=mention,
                kind=Kind.TAKEN,
                agent=agent,
                at=item.started + timedelta(seconds=OPEN_TO_TAKE_SECONDS),
            ),
            MentionEvent(
                mention=mention,
                kind=Kind.ANSWERED if needs_reply else Kind.DISMISSED,
                agent=agent,
                at=closed_at,
            ),
        ]
        if needs_reply:
            draw = rng.random()
            action = (
                Feedback.Action.ACCEPTED if draw < 0.6 else Feedback.Action.EDITED if draw < 0.85 else None
            )
            if action is not None:
                Feedback.objects.create(
                    request=request,
                    response=response,
                    action=action,
                    final_text=mention.reply_text,
                    given_by=agent,
                )
    MentionEvent.objects.bulk_create(events)


if __name__ == "__main__":
    main()
