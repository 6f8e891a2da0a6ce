"""Channels connected to the inbox: a brand's X account, the tweets read from it, and each
reply posted through it."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from console.models import Mention
from kb.models import Brand


class XConnection(models.Model):
    """A brand's X account: its mentions are read into the inbox and the agents' replies posted
    as it. The token (an OAuth 2.0 user access token with tweet.read, tweet.write, users.read,
    dm.read and dm.write) is kept encrypted (config.crypto) or read from an environment variable
    named here; it is never shown back but for its last characters. With a refresh token (scope
    offline.access, kept encrypted too) the access token is renewed before it expires."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Connected"
        NEEDS_REAUTH = "needs_reauth", "Needs re-authorisation"
        PAUSED = "paused", "Paused"

    brand = models.OneToOneField(Brand, on_delete=models.CASCADE, related_name="x_connection")
    account_id = models.CharField(max_length=32, help_text="The account's numeric X user id.")
    account_username = models.CharField(max_length=50, blank=True, help_text="Its @handle, without the @.")
    token_encrypted = models.TextField(blank=True, editable=False)
    token_hint = models.CharField(max_length=8, blank=True, editable=False)
    refresh_token_encrypted = models.TextField(blank=True, editable=False)
    token_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the access token expires; with a refresh token it is renewed a minute before.",
    )
    token_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Or the environment variable holding the token (its value is read at each call).",
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.ACTIVE)
    since_id = models.CharField(
        max_length=32, blank=True, help_text="The newest mention read: the next poll asks for newer ones."
    )
    last_polled_at = models.DateTimeField(null=True, blank=True)
    polling_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Claimed by a poll under way until then."
    )
    last_error = models.CharField(max_length=500, blank=True)
    rate_limited_until = models.DateTimeField(
        null=True, blank=True, help_text="X's rate limit: no call to read mentions before this moment."
    )
    rate_limit_remaining = models.PositiveIntegerField(
        null=True, blank=True, help_text="Calls left in the mentions window, as X last said."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "X connection"
        ordering = ["brand__key"]

    def __str__(self) -> str:
        return f"@{self.account_username or self.account_id} for {self.brand}"

    @property
    def sends(self) -> bool:
        """Replies go out through it (it is connected and not waiting for a new token)."""
        return self.status == self.Status.ACTIVE


class XTweet(models.Model):
    """What X said about a mention read from it, beyond the inbox's fields: who wrote it (their
    user id, for a direct message) and the thread it belongs to. The tweet id is the mention's
    ``external_id``."""

    mention = models.OneToOneField(Mention, on_delete=models.CASCADE, related_name="x_tweet")
    connection = models.ForeignKey(XConnection, on_delete=models.CASCADE, related_name="tweets")
    author_id = models.CharField(max_length=32)
    conversation_id = models.CharField(max_length=32, blank=True)
    in_reply_to_user_id = models.CharField(max_length=32, blank=True)
    replied_to_id = models.CharField(max_length=32, blank=True, help_text="The tweet it replies to, if any.")

    class Meta:
        verbose_name = "X tweet"

    def __str__(self) -> str:
        return self.mention.external_id


class XPost(models.Model):
    """The reply to a mention, posted on X: one per mention. Recorded before X is called, so a
    retry after a lost answer looks the reply up on X instead of posting it twice. A reply over
    X's limit, split, goes out as its parts (XPostPart); ``text`` stays the whole reply."""

    class Kind(models.TextChoices):
        REPLY = "reply", "Public reply"
        DM = "dm", "Direct message"

    class Status(models.TextChoices):
        POSTING = "posting", "Being posted"
        UNKNOWN = "unknown", "Outcome unknown"  # X gave no answer: looked up before any new try
        POSTED = "posted", "Posted"
        FAILED = "failed", "Failed"

    mention = models.OneToOneField(Mention, on_delete=models.CASCADE, related_name="x_post")
    connection = models.ForeignKey(XConnection, on_delete=models.CASCADE, related_name="posts")
    kind = models.CharField(max_length=8, choices=Kind)
    text = models.TextField()
    status = models.CharField(max_length=16, choices=Status)
    posted_id = models.CharField(
        max_length=32,
        blank=True,
        help_text="The tweet's id, or the message event's; for a reply in parts, the first part's.",
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, help_text="Why the last attempt failed.")
    attempted_at = models.DateTimeField(help_text="When the last attempt started.")
    posted_at = models.DateTimeField(null=True, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "X post"
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.mention.external_id}"


class XPostPart(models.Model):
    """One numbered part of a reply posted on X as a chain (console.services.reply_parts_for):
    the first replies to the mention, each next one to the part before. A part is marked
    "unknown" before X is called and "posted" with its id as soon as X answers, so a retry posts
    only the parts not on X yet, after looking up one whose answer was lost."""

    class Status(models.TextChoices):
        PENDING = "pending", "Not posted yet"
        UNKNOWN = "unknown", "Outcome unknown"  # sent to X without an answer: looked up first
        POSTED = "posted", "Posted"

    post = models.ForeignKey(XPost, on_delete=models.CASCADE, related_name="parts")
    position = models.PositiveSmallIntegerField(help_text="Its number in the chain, from 1.")
    text = models.TextField(help_text='As posted, its number included ("… (2/3)").')
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    posted_id = models.CharField(max_length=32, blank=True, help_text="The tweet's id.")
    posted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "X post part"
        ordering = ["post", "position"]
        constraints = [
            models.UniqueConstraint(fields=["post", "position"], name="xpostpart_once_per_position")
        ]

    def __str__(self) -> str:
        return f"Part {self.position} of {self.post}"

    @property
    def out(self) -> bool:
        """It is on X, or may be: its words can no longer change."""
        return self.status != self.Status.PENDING
