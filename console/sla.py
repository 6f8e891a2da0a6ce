"""Response targets as the clock sees them: which target a mention falls under, when its response
is due in business minutes, and how many business minutes a span took.

A team works on its weekdays (Monday 0 to Sunday 6) between ``opens_at`` and ``closes_at`` in its
own time zone; outside those hours the clock stops. A shift that closes earlier than it opens
(22:00 to 06:00) crosses midnight and belongs to the day it opens. Without opening hours every
working day counts in full; every day and no hours is round the clock: plain addition.

All arithmetic on instants is done in UTC, so a change to or from summer time moves the opening
hours with the local clock and never adds or loses a minute of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings

# What a lead sets on a response target, in the admin and over the API.
TARGET_FIELDS = (
    "brand",
    "channel",
    "first_response_minutes",
    "resolution_minutes",
    "weekdays",
    "opens_at",
    "closes_at",
    "time_zone",
)

if TYPE_CHECKING:
    from console.models import ResponseTarget

ALL_WEEKDAYS = "0123456"
# A team that works at least one day a week finds it within a week; the margin covers a night
# shift begun the day before and days that summer time shortens.
_WINDOW_SEARCH_DAYS = 9


@dataclass(frozen=True)
class Target:
    """How soon a response is due and when the team's clock runs."""

    first_response_minutes: int
    resolution_minutes: int | None = None
    weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(7)))
    opens_at: time | None = None
    closes_at: time | None = None
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        if not self.weekdays:
            raise ValueError("a target needs at least one working day")
        if (self.opens_at is None) != (self.closes_at is None):
            raise ValueError("opening hours need both opens_at and closes_at, or neither")

    @property
    def round_the_clock(self) -> bool:
        return self.opens_at is None and len(self.weekdays) == 7

    @property
    def hours_described(self) -> str:
        return hours_words(weekdays=self.weekdays, opens_at=self.opens_at, closes_at=self.closes_at)

    @property
    def night_shift(self) -> bool:
        """Closes at or before it opens: the shift crosses midnight."""
        return self.opens_at is not None and self.closes_at is not None and self.closes_at <= self.opens_at

    @classmethod
    def default(cls) -> Target:
        """The target everywhere no response target covers: round the clock."""
        return cls(first_response_minutes=settings.CARELINE_RESPONSE_TARGET_MINUTES)

    @classmethod
    def from_row(cls, row: ResponseTarget) -> Target:
        """A ``console.models.ResponseTarget`` as the clock reads it."""
        return cls(
            first_response_minutes=row.first_response_minutes,
            resolution_minutes=row.resolution_minutes,
            weekdays=frozenset(int(day) for day in row.weekdays),
            opens_at=row.opens_at,
            closes_at=row.closes_at,
            time_zone=row.time_zone,
        )


class TargetBook:
    """Every response target, read in one query; the most specific one answers: brand and
    channel, then brand, then channel, then the default everywhere."""

    def __init__(self, targets: dict[tuple[int | None, str], Target], default: Target) -> None:
        self._targets = targets
        self._default = default

    @classmethod
    def load(cls) -> TargetBook:
        from console.models import ResponseTarget

        targets = {(row.brand_id, row.channel): Target.from_row(row) for row in ResponseTarget.objects.all()}
        return cls(targets, Target.default())

    def target_for(self, brand_id: int | None, channel: str) -> Target:
        keys: list[tuple[int | None, str]] = [(None, channel), (None, "")]
        if brand_id is not None:
            keys[:0] = [(brand_id, channel), (brand_id, "")]
        for key in keys:
            if key in self._targets:
                return self._targets[key]
        return self._default


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone")
    return moment.astimezone(UTC)


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``day`` at ``at`` on the team's wall clock, in UTC. A wall time that summer time skips
    (02:30 on the night the clocks go forward) reads as the instant the same time before the
    change would have been, which is when the clock shows 03:30."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _working_windows(start: datetime, target: Target) -> Iterator[tuple[datetime, datetime]]:
    """The team's working spans (UTC start, UTC end) in order, from the one under way at
    ``start`` (or the next) on, without end."""
    zone = _zone(target.time_zone)
    # The day before: its night shift may still be running at start.
    day = start.astimezone(zone).date() - timedelta(days=1)
    idle_days = 0
    while True:
        if day.weekday() in target.weekdays:
            idle_days = 0
            if target.opens_at is None or target.closes_at is None:
                opens = _local_instant(day, time(0), zone)
                closes = _local_instant(day + timedelta(days=1), time(0), zone)
            else:
                closes_day = day + timedelta(days=1) if target.night_shift else day
                opens = _local_instant(day, target.opens_at, zone)
                closes = _local_instant(closes_day, target.closes_at, zone)
            if closes > start and closes > opens:
                yield opens, closes
        else:
            idle_days += 1
            if idle_days > _WINDOW_SEARCH_DAYS:  # pragma: no cover - weekdays is never empty
                raise ValueError("a target needs at least one working day")
        day += timedelta(days=1)


def deadline(start: datetime, minutes: int, target: Target) -> datetime:
    """The instant ``minutes`` business minutes after ``start``. A mention arriving while the team
    is off starts its clock when the team opens; with no minutes at all that opening is the
    deadline."""
    start = _aware(start, "start")
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if target.round_the_clock:
        return start + timedelta(minutes=minutes)
    remaining = timedelta(minutes=minutes)
    for opens, closes in _working_windows(start, target):
        running_from = max(opens, start)
        available = closes - running_from
        if remaining <= available:
            return running_from + remaining
        remaining -= available
    raise AssertionError("unreachable: working windows never end")  # pragma: no cover


def business_minutes(start: datetime, end: datetime, target: Target) -> float:
    """The minutes between ``start`` and ``end`` that the team's clock ran; 0 when end is not
    after start."""
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        return 0.0
    if target.round_the_clock:
        return (end - start).total_seconds() / 60
    worked = timedelta()
    for opens, closes in _working_windows(start, target):
        if opens >= end:
            break
        worked += min(closes, end) - max(opens, start)
    return worked.total_seconds() / 60


DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def hours_words(*, weekdays: Iterable[int], opens_at: time | None, closes_at: time | None) -> str:
    """When a team works, as a lead says it: "Round the clock", "Mon-Fri 09:00-17:00",
    "Mon, Wed 22:00-06:00", "Sat-Sun, all day"."""
    days = sorted({day for day in weekdays if 0 <= day < 7})
    if len(days) == 7:
        day_words = "every day"
    elif len(days) > 1 and days == list(range(days[0], days[-1] + 1)):
        day_words = f"{DAY_NAMES[days[0]]}-{DAY_NAMES[days[-1]]}"
    else:
        day_words = ", ".join(DAY_NAMES[day] for day in days)
    if opens_at is None or closes_at is None:
        return "Round the clock" if len(days) == 7 else f"{day_words}, all day"
    return f"{day_words} {opens_at:%H:%M}-{closes_at:%H:%M}"


def response_target_errors(
    *, weekdays: str, opens_at: time | None, closes_at: time | None, time_zone: str
) -> dict[str, str]:
    """What is wrong with a response target's clock, by field; empty when nothing is. Shared by
    the admin form and the API so both refuse the same things in the same words."""
    errors: dict[str, str] = {}
    if not weekdays:
        errors["weekdays"] = "Name at least one working day, Monday 0 to Sunday 6: 01234 for weekdays."
    elif any(day not in ALL_WEEKDAYS for day in weekdays):
        bad = ", ".join(sorted({day for day in weekdays if day not in ALL_WEEKDAYS}))
        errors["weekdays"] = f"Working days are digits 0 (Monday) to 6 (Sunday); not {bad}."
    elif len(set(weekdays)) != len(weekdays):
        repeated = ", ".join(sorted({day for day in weekdays if weekdays.count(day) > 1}))
        errors["weekdays"] = f"Each working day once: {repeated} is repeated."
    if opens_at is None and closes_at is not None:
        errors["opens_at"] = "Give the opening time too, or leave both empty for round the clock."
    elif opens_at is not None and closes_at is None:
        errors["closes_at"] = "Give the closing time too, or leave both empty for round the clock."
    elif opens_at is not None and opens_at == closes_at:
        errors["closes_at"] = "Opens and closes at the same time: leave both empty for round the clock."
    if not time_zone_exists(time_zone):
        errors["time_zone"] = f"Unknown time zone {time_zone!r}: use a name such as Europe/Berlin or UTC."
    return errors


def time_zone_exists(name: str) -> bool:
    if name in _known_zones():
        return True
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())
