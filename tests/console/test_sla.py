"""Response targets on the team's clock: deadlines and elapsed business minutes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from console.models import ResponseTarget
from console.sla import Target, TargetBook, business_minutes, deadline, hours_words, response_target_errors
from kb.models import Brand

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = frozenset(range(5))


def office(**overrides) -> Target:
    """Monday to Friday, 09:00 to 17:00 in Berlin, one hour to answer."""
    fields = {
        "first_response_minutes": 60,
        "weekdays": WEEKDAYS,
        "opens_at": time(9),
        "closes_at": time(17),
        "time_zone": "Europe/Berlin",
    }
    return Target(**(fields | overrides))


def berlin(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


# 2026-03-02 is a Monday, 2026-03-06 a Friday.


def test_round_the_clock_is_plain_addition():
    target = Target(first_response_minutes=60)
    start = datetime(2026, 3, 7, 23, 30, tzinfo=UTC)
    assert target.round_the_clock
    assert deadline(start, 90, target) == start + timedelta(minutes=90)
    assert business_minutes(start, start + timedelta(hours=5), target) == 300


def test_inside_hours_the_clock_runs_as_usual():
    assert deadline(berlin(2026, 3, 3, 10), 60, office()) == berlin(2026, 3, 3, 11)


def test_overnight_the_clock_stops_at_closing_and_resumes_at_opening():
    # 16:30 Tuesday: 30 minutes before closing, 30 more after Wednesday's opening.
    assert deadline(berlin(2026, 3, 3, 16, 30), 60, office()) == berlin(2026, 3, 4, 9, 30)


def test_weekend_carries_friday_afternoon_to_monday_morning():
    assert deadline(berlin(2026, 3, 6, 16, 45), 60, office()) == berlin(2026, 3, 9, 9, 45)


def test_a_mention_arriving_outside_hours_starts_its_clock_at_opening():
    assert deadline(berlin(2026, 3, 3, 3, 12), 60, office()) == berlin(2026, 3, 3, 10)
    # Saturday evening: Monday 10:00.
    assert deadline(berlin(2026, 3, 7, 20), 60, office()) == berlin(2026, 3, 9, 10)


def test_a_long_target_spans_several_working_days():
    # Two working days of eight hours, from Thursday noon: Friday 12:00 is one day, Monday 12:00 two.
    assert deadline(berlin(2026, 3, 5, 12), 16 * 60, office()) == berlin(2026, 3, 9, 12)


def test_business_minutes_count_only_open_hours():
    target = office()
    # Friday 16:00 to Monday 10:00: one hour on Friday, one on Monday.
    assert business_minutes(berlin(2026, 3, 6, 16), berlin(2026, 3, 9, 10), target) == 120
    # Entirely in the weekend.
    assert business_minutes(berlin(2026, 3, 7, 9), berlin(2026, 3, 8, 18), target) == 0
    # A whole working week.
    assert business_minutes(berlin(2026, 3, 2, 0), berlin(2026, 3, 9, 0), target) == 5 * 8 * 60


def test_business_minutes_and_deadline_agree():
    target = office()
    start = berlin(2026, 3, 4, 15, 7)
    for minutes in (1, 53, 113, 480, 1000):
        assert business_minutes(start, deadline(start, minutes, target), target) == pytest.approx(minutes)


def test_end_before_start_counts_nothing():
    assert business_minutes(berlin(2026, 3, 4, 12), berlin(2026, 3, 4, 11), office()) == 0


def test_summer_time_keeps_opening_hours_on_the_local_clock():
    # Clocks go forward in Berlin on Sunday 2026-03-29: Friday 09:00 is 08:00 UTC, Monday 09:00 07:00 UTC.
    friday_late = berlin(2026, 3, 27, 16, 30)
    due = deadline(friday_late, 60, office())
    assert due == berlin(2026, 3, 30, 9, 30)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)


def test_summer_time_night_loses_an_hour_round_the_clock_in_berlin():
    # Every day, all day, but on Berlin's clock: the night the clocks go forward is 23 hours long.
    target = Target(first_response_minutes=60, weekdays=frozenset(range(7)), time_zone="Europe/Berlin")
    assert target.round_the_clock
    day_start, next_day = berlin(2026, 3, 29, 0), berlin(2026, 3, 30, 0)
    assert business_minutes(day_start, next_day, target) == 23 * 60


def test_full_days_across_summer_time_count_real_minutes():
    # Working Sundays only, all day: the Sunday of the change has 23 hours.
    sundays = Target(first_response_minutes=60, weekdays=frozenset({6}), time_zone="Europe/Berlin")
    assert business_minutes(berlin(2026, 3, 28, 12), berlin(2026, 3, 30, 12), sundays) == 23 * 60
    # ... and in October 25 hours.
    assert business_minutes(berlin(2026, 10, 24, 12), berlin(2026, 10, 26, 12), sundays) == 25 * 60
    # A deadline of 24 hours from Sunday's start ends the next Sunday, one hour in.
    assert deadline(berlin(2026, 3, 29, 0), 24 * 60, sundays) == berlin(2026, 4, 5, 1)


def test_night_shift_crosses_midnight_and_belongs_to_the_day_it_opens():
    # Monday to Friday nights, 22:00 to 06:00.
    nights = office(opens_at=time(22), closes_at=time(6))
    assert nights.night_shift
    # Tuesday 05:30 is inside Monday's shift: 30 minutes now, 30 from Tuesday 22:00.
    assert deadline(berlin(2026, 3, 3, 5, 30), 60, nights) == berlin(2026, 3, 3, 22, 30)
    # Saturday 03:00 is inside Friday's shift.
    assert deadline(berlin(2026, 3, 7, 3), 60, nights) == berlin(2026, 3, 7, 4)
    # Saturday 07:00: no shift until Monday 22:00.
    assert deadline(berlin(2026, 3, 7, 7), 60, nights) == berlin(2026, 3, 9, 23)
    assert business_minutes(berlin(2026, 3, 2, 12), berlin(2026, 3, 3, 12), nights) == 8 * 60


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="time zone"):
        deadline(datetime(2026, 3, 3, 10), 60, office())


def test_a_target_without_working_days_is_refused():
    with pytest.raises(ValueError, match="working day"):
        office(weekdays=frozenset())


@pytest.mark.django_db
def test_most_specific_target_wins(settings):
    settings.CARELINE_RESPONSE_TARGET_MINUTES = 45
    acme = Brand.objects.create(key="acme", name="Acme", handle="acme")
    other = Brand.objects.create(key="other", name="Other", handle="other")
    ResponseTarget.objects.create(brand=acme, channel="x", first_response_minutes=10)
    ResponseTarget.objects.create(brand=acme, channel="", first_response_minutes=20)
    ResponseTarget.objects.create(brand=None, channel="x", first_response_minutes=30)
    book = TargetBook.load()
    assert book.target_for(acme.pk, "x").first_response_minutes == 10
    assert book.target_for(acme.pk, "facebook").first_response_minutes == 20
    assert book.target_for(other.pk, "x").first_response_minutes == 30
    assert book.target_for(None, "x").first_response_minutes == 30
    default = book.target_for(other.pk, "facebook")
    assert default.first_response_minutes == 45
    assert default.round_the_clock and default.resolution_minutes is None


@pytest.mark.django_db
def test_a_target_for_every_brand_and_channel_replaces_the_setting(settings):
    settings.CARELINE_RESPONSE_TARGET_MINUTES = 45
    ResponseTarget.objects.create(
        brand=None,
        channel="",
        first_response_minutes=120,
        weekdays="01234",
        opens_at=time(8),
        closes_at=time(18),
    )
    target = TargetBook.load().target_for(None, "facebook")
    assert target.first_response_minutes == 120
    assert not target.round_the_clock
    assert target.weekdays == WEEKDAYS


@pytest.mark.django_db
def test_the_book_reads_every_target_in_one_query(django_assert_num_queries):
    ResponseTarget.objects.create(brand=None, channel="x", first_response_minutes=30)
    ResponseTarget.objects.create(brand=None, channel="", first_response_minutes=60)
    with django_assert_num_queries(1):
        book = TargetBook.load()
    assert book.target_for(None, "x").first_response_minutes == 30


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"weekdays": "0127"}, "weekdays", "not 7"),
        ({"weekdays": "0113"}, "weekdays", "1 is repeated"),
        ({"weekdays": ""}, "weekdays", "at least one"),
        ({"opens_at": time(9)}, "closes_at", "closing time"),
        ({"closes_at": time(9)}, "opens_at", "opening time"),
        ({"opens_at": time(9), "closes_at": time(9)}, "closes_at", "same time"),
        ({"time_zone": "Europe/Atlantis"}, "time_zone", "Europe/Atlantis"),
    ],
)
def test_a_bad_clock_is_named_by_field(fields, field, words):
    given = {"weekdays": "01234", "opens_at": None, "closes_at": None, "time_zone": "UTC"} | fields
    errors = response_target_errors(**given)
    assert list(errors) == [field]
    assert words in errors[field]


def test_a_good_clock_has_no_errors():
    errors = response_target_errors(
        weekdays="01234", opens_at=time(22), closes_at=time(6), time_zone="Europe/Berlin"
    )
    assert errors == {}


@pytest.mark.parametrize(
    ("weekdays", "opens_at", "closes_at", "words"),
    [
        (range(7), None, None, "Round the clock"),
        (range(5), time(9), time(17), "Mon-Fri 09:00-17:00"),
        ((0, 2), time(22), time(6), "Mon, Wed 22:00-06:00"),
        ((5, 6), None, None, "Sat-Sun, all day"),
        (range(7), time(8), time(20), "every day 08:00-20:00"),
    ],
)
def test_hours_read_as_a_lead_says_them(weekdays, opens_at, closes_at, words):
    assert hours_words(weekdays=weekdays, opens_at=opens_at, closes_at=closes_at) == words
