from __future__ import annotations

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def lockout_minutes(span: timedelta) -> str:
    """15 minutes, 1 minute, 2 hours: how long a lockout lasts, in words."""
    minutes = max(1, round(span.total_seconds() / 60))
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
