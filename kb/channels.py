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


# Where a reply over the limit may go out as numbered parts, each replying to the one before, so
# that they read as one chain under the mention. On X a reply to our own reply does. Facebook and
# Instagram nest replies one level under a comment, so parts would not read in order (and their
# limits are past what a public reply should say); an e-mail has no limit to split for.
CHANNEL_THREADS: dict[str, bool] = {
    Channel.TWITTER: True,
    Channel.FACEBOOK: False,
    Channel.INSTAGRAM: False,
    Channel.EMAIL: False,
}


def channel_allows_threads(channel: str) -> bool:
    """Whether a reply too long for the channel may go out on it as a chain of numbered parts."""
    return CHANNEL_THREADS.get(channel, False)
