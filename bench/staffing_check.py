"""Checks the staffing page's recommendations (insights.staffing, Erlang C) against a direct
simulation of the traffic in the database: the arrivals as they came, each with the handling
time measured from its events, queued first come, first served.

    .venv/bin/python -m bench.week_traffic --replace        # a seeded week of traffic first
    .venv/bin/python -m bench.staffing_check                 # the same 7 days, 60 min at 80 %
    .venv/bin/python -m bench.staffing_check --targets 60,5 --service-level 0.9 --json var/check.json

Two simulations, for each target:

1. Each hour of the week on its own, as Erlang C sees it: that hour's arrivals (their minutes
   past the hour, over every week of the period) and handling times are replayed back to back,
   CYCLES times, and the waits after the first WARM_UP cycles counted; the fewest agents whose
   share of waits within the target reaches the service level is the simulation's answer for
   that hour. The report says in how many hours it is within one agent of the recommendation.
2. The whole period in order, staffed hour by hour as recommended (a mention that waits into
   the next hour is served by the next hour's agents): the share of each hour's arrivals
   started within the target, and how many hours fall short of the level.

Erlang C assumes Poisson arrivals at a steady rate and exponential handling times. The generated
traffic is Poisson within each hour but its handling is log-normal (less variable than
exponential), each hour's own handling times replace the period's mean in quiet hours, and the
rate changes from one hour to the next; the report lists the hours where the two disagree."""

from __future__ import annotations

import argparse
import json
import math
import os
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.week_traffic import BRAND_KEY, serve_fixed, serve_in_order

if TYPE_CHECKING:
    from insights.analytics import AnalyticsFilter
    from insights.staffing import MentionTimed, Staffing

CYCLES = 200
WARM_UP = 20
MIN_REPLAYED = 4000  # mentions per simulated hour-of-week, at least


def fewest_agents(
    pattern: list[tuple[float, float]], cycle_minutes: float, target: float, level: float
) -> int:
    """The fewest agents meeting ``level`` within ``target`` minutes for the hour replayed."""
    if not pattern:
        return 0
    cycles = max(CYCLES, math.ceil(MIN_REPLAYED / len(pattern)))
    replay = [(offset + n * cycle_minutes, handle) for n in range(cycles) for offset, handle in pattern]
    counted = len(pattern) * min(WARM_UP, cycles // 10)
    work = sum(handle for _, handle in pattern) / cycle_minutes  # Erlangs in the replayed hour
    agents = max(1, math.floor(work))
    while True:
        waits = serve_fixed(replay, agents)[counted:]
        if sum(wait <= target for wait in waits) / len(waits) >= level:
            return agents
        agents += 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--brand", default=BRAND_KEY)
    parser.add_argument("--since", type=date.fromisoformat, help="default: 7 days before today")
    parser.add_argument("--until", type=date.fromisoformat, help="default: yesterday")
    parser.add_argument("--targets", default="60,15,5,1", help="target minutes, comma-separated")
    parser.add_argument("--service-level", type=float, default=0.8)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.utils import timezone

    from insights.analytics import analytics_filter
    from insights.staffing import StaffingGoal, mentions_timed, staffing_read
    from kb.models import Brand

    today = timezone.localdate()
    until = args.until or today - timedelta(days=1)
    since = args.since or until - timedelta(days=6)
    filters = analytics_filter(brand=Brand.objects.get(key=args.brand), since=since, until=until)
    timed = mentions_timed(filters=filters)
    results: dict[str, Any] = {"brand": args.brand, "since": str(since), "until": str(until), "targets": []}
    print(
        f"{len(timed)} mentions of {args.brand} from {since} to {until}, service level {args.service_level}"
    )
    for target in (float(value) for value in args.targets.split(",")):
        staffing = staffing_read(filters=filters, goal=StaffingGoal(target, args.service_level))
        results["targets"].append(check_target(filters, staffing, timed, target, args.service_level))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"Figures written to {args.json}")


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def check_target(
    filters: AnalyticsFilter, staffing: Staffing, timed: list[MentionTimed], target: float, level: float
) -> dict[str, Any]:
    """Both simulations for one target, printed and returned."""
    patterns, stream = _replayed(filters, staffing, timed)
    rows: list[dict[str, Any]] = []
    differences: Counter[int] = Counter()
    for hour in staffing.hours:
        pattern = sorted(patterns.get((hour.weekday, hour.hour), []))
        simulated = fewest_agents(pattern, 60.0 * max(hour.occurrences, 1), target, level)
        recommended = hour.agents_needed or 0
        differences[recommended - simulated] += 1
        rows.append(
            {
                "weekday": hour.weekday,
                "hour": hour.hour,
                "arrivals": hour.arrivals,
                "handle_minutes": hour.handle_minutes,
                "erlang_c": recommended,
                "simulated": simulated,
            }
        )
    agree = sum(count for difference, count in differences.items() if abs(difference) <= 1)
    replay = week_replay(filters, staffing, stream, target, level)
    print(
        f"target {target:g} min: {agree}/{len(rows)} hours within one agent of the simulation "
        f"(Erlang C minus simulation, hours: {dict(sorted(differences.items()))}); staffed as recommended, "
        f"{replay['started_within_target']:.1%} started within the target, "
        f"{replay['hours_with_arrivals'] - replay['hours_short']}/{replay['hours_with_arrivals']} hours "
        f"with arrivals meet {level:.0%}"
    )
    for row in (row for row in rows if abs(row["erlang_c"] - row["simulated"]) > 1):
        print(
            f"  off by more than one: {WEEKDAYS[row['weekday']]} {row['hour']:02d}:00, {row['arrivals']} "
            f"arrivals, Erlang C {row['erlang_c']}, simulation {row['simulated']}"
        )
    return {
        "target_minutes": target,
        "service_level": level,
        "hours_within_one_agent": agree,
        "hours": len(rows),
        "erlang_minus_simulation": {str(key): value for key, value in sorted(differences.items())},
        "week_replay": replay,
        "rows": rows,
    }


def _replayed(
    filters: AnalyticsFilter, staffing: Staffing, timed: list[MentionTimed]
) -> tuple[dict[tuple[int, int], list[tuple[float, float]]], list[tuple[float, float]]]:
    """(minute, handling) of each arrival: per hour of the week, its k-th occurrence at 60k
    minutes; and the whole period in order, in minutes from its start. A mention not timed
    (still open at the end) takes its hour's handling time."""
    from django.utils import timezone

    handle_of = {(hour.weekday, hour.hour): hour.handle_minutes or 0.0 for hour in staffing.hours}
    week_minutes = 7 * 24 * 60
    patterns: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    stream = []
    for item in timed:
        local = timezone.localtime(item.arrived)
        slot = (local.weekday(), local.hour)
        handle = item.minutes if item.minutes is not None else handle_of[slot]
        since_start = (item.arrived - filters.starts_at).total_seconds() / 60
        occurrence = int(since_start // week_minutes)
        patterns[slot].append((occurrence * 60 + local.minute + local.second / 60, handle))
        stream.append((since_start, handle))
    return patterns, stream


def week_replay(
    filters: AnalyticsFilter,
    staffing: Staffing,
    stream: list[tuple[float, float]],
    target: float,
    level: float,
) -> dict[str, Any]:
    """The period in order with each hour staffed as recommended: the share started within the
    target, overall and per hour."""
    from django.utils import timezone

    hours = (filters.until - filters.since).days * 24 + 24
    plan = []
    for h in range(hours):
        local = timezone.localtime(filters.starts_at + timedelta(hours=h))
        plan.append(staffing.hours[local.weekday() * 24 + local.hour].agents_needed or 0)
    # Past the period, the last hour's agents (at least one) stay on until the queue empties.
    plan += [max(plan[-1], 1)] * 48
    served = serve_in_order(stream, max(plan), lambda agent, h: agent < plan[h], len(plan))
    per_hour: dict[int, list[bool]] = defaultdict(list)
    for (arrived, _), start in zip(stream, served, strict=True):
        per_hour[int(arrived // 60)].append(start is not None and start[0] - arrived <= target)
    short = [h for h, met in per_hour.items() if sum(met) / len(met) < level]
    total = sum(len(met) for met in per_hour.values())
    return {
        "started_within_target": round(sum(sum(met) for met in per_hour.values()) / max(total, 1), 4),
        "hours_with_arrivals": len(per_hour),
        "hours_short": len(short),
    }


if __name__ == "__main__":
    main()
