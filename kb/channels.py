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


# Channels where a reply over the limit may go out as a thread of numbered parts, each answering
# the one before. X: a reply to our own previous reply reads as one chain under the mention.
# Facebook and Instagram nest replies one level under the comment, so parts would not read as a
# chain, and their limits (8000, 2200) are past what a reply in public should say: shorten it or
# take it private. E-mail has no limit to split for.
THREADED_CHANNELS: frozenset[str] = frozenset({Channel.TWITTER})


def channel_allows_threads(channel: str) -> bool:
    """Whether a reply too long for the channel may be split into numbered parts on it."""
    return channel in THREADED_CHANNELS
