"""Time against a response target, in the words people use: "2 h 15 min overdue", "in 12 min"."""

from __future__ import annotations

MINUTES_PER_HOUR = 60
MINUTES_PER_DAY = 24 * MINUTES_PER_HOUR


def duration_words(minutes: int) -> str:
    """12 -> '12 min', 135 -> '2 h 15 min', 120 -> '2 h', 1700 -> '1 day 4 h', 4400 -> '3 days'.

    Past a day the minutes no longer matter, past two days the hours neither."""
    minutes = abs(int(minutes))
    if minutes < MINUTES_PER_HOUR:
        return f"{minutes} min"
    if minutes < MINUTES_PER_DAY:
        hours, rest = divmod(minutes, MINUTES_PER_HOUR)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, rest = divmod(minutes, MINUTES_PER_DAY)
    if days >= 2:
        return f"{days} days"
    hours = rest // MINUTES_PER_HOUR
    return f"1 day {hours} h" if hours else "1 day"


def time_left_words(minutes_left: int) -> str:
    """What the inbox's clock reads: 'in 12 min', 'due now', '2 h 15 min overdue'."""
    if minutes_left > 0:
        return f"in {duration_words(minutes_left)}"
    if minutes_left == 0:
        return "due now"
    return f"{duration_words(minutes_left)} overdue"
