"""Channels a reply can go out on, and how long a reply may be on each."""

from __future__ import annotations

from django.db import models


class Channel(models.TextChoices):
    TWITTER = "twitter", "Twitter / X"
    FACEBOOK = "facebook", "Facebook"
    INSTAGRAM = "instagram", "Instagram"
    EMAIL = "email", "Email"
    ANY = "any", "Any channel"


# Characters allowed per reply; None means no practical limit.
CHANNEL_LIMITS: dict[str, int | None] = {
    Channel.TWITTER: 280,
    Channel.FACEBOOK: 8000,
    Channel.INSTAGRAM: 2200,
    Channel.EMAIL: None,
}


def channel_limit(channel: str) -> int | None:
    """The length limit of a channel; a response for `any` channel must fit the strictest one."""
    if channel == Channel.ANY:
        return min(limit for limit in CHANNEL_LIMITS.values() if limit is not None)
    return CHANNEL_LIMITS[channel]
