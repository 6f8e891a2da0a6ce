"""The inbox's clock reads as people read time."""

from __future__ import annotations

import pytest

from console.clock import duration_words, time_left_words


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (0, "0 min"),
        (1, "1 min"),
        (59, "59 min"),
        (60, "1 h"),
        (61, "1 h 1 min"),
        (135, "2 h 15 min"),
        (1439, "23 h 59 min"),
        (1440, "1 day"),
        (1700, "1 day 4 h"),
        (2879, "1 day 23 h"),
        (2880, "2 days"),
        (11383, "7 days"),
        (-135, "2 h 15 min"),
    ],
)
def test_durations_read_in_minutes_hours_and_days(minutes, words):
    assert duration_words(minutes) == words


@pytest.mark.parametrize(
    ("minutes_left", "words"),
    [(12, "in 12 min"), (0, "due now"), (-135, "2 h 15 min overdue"), (-4400, "3 days overdue")],
)
def test_the_clock_says_in_or_overdue(minutes_left, words):
    assert time_left_words(minutes_left) == words
