"""The inbox: mentions pushed by integrations, each with the suggestions computed for it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from kb.channels import Channel
from kb.models import Brand
from suggestions.models import SuggestionRequest
from suggestions.privacy import personal_data_describe


class Mention(models.Model):
    """A customer's public message waiting for an answer. Integrations push it once; pushing it
    again (same channel and external id) changes nothing."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        ASSIGNED = "assigned", "Assigned"
        ANSWERED = "answered", "Answered"
        DISMISSED = "dismissed", "Dismissed"

    text = models.TextField(max_length=5000)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="mentions")
    channel = models.CharField(max_length=16, choices=Channel)
    author_handle = models.CharField(max_length=100, blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=200, help_text="The mention's id on its channel.")
    conversation_id = models.CharField(
        max_length=200, blank=True, help_text="The thread it belongs to, as its channel names it."
    )
    in_reply_to_id = models.CharField(
        max_length=200, blank=True, help_text="The message it replies to, as its channel names it."
    )
    received_at = models.DateTimeField(db_index=True, help_text="When the mention reached the brand.")
    status = models.CharField(max_length=16, choices=Status, default=Status.NEW, db_index=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="mentions"
    )
    reply_text = models.TextField(
        blank=True, help_text="What the agent sent, when answered (split: its parts, a blank line apart)."
    )
    reply_parts = models.JSONField(
        default=list,
        blank=True,
        help_text="The numbered parts the reply went out as, when it was split (kb.reply_parts).",
    )
    dismiss_reason = models.CharField(max_length=200, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When it was answered or dismissed.")
    nothing_fits_at = models.DateTimeField(
        null=True, blank=True, help_text="When an agent said no suggestion fits (a content gap)."
    )
    escalated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalated_at = models.DateTimeField(
        null=True, blank=True, help_text="When an agent handed it to a lead (who it is then assigned to)."
    )
    escalation_note = models.TextField(max_length=1000, blank=True, help_text="What the lead should know.")
    suggest_failures = models.PositiveSmallIntegerField(
        default=0, help_text="How often computing its suggestions failed; the sweep stops retrying."
    )
    suggest_error = models.CharField(max_length=500, blank=True, help_text="The last failure, for the agent.")
    personal_data = models.JSONField(
        default=list,
        blank=True,
        help_text="The kinds of personal data its text shows (suggestions.privacy), found when it arrived.",
    )
    # Triage (console.triage): what the mention's words say, its deadline, and its place in the inbox.
    tone = models.FloatField(
        null=True, blank=True, help_text="How angry or urgent its words read, 0 (calm) to 1, when it arrived."
    )
    needs_reply = models.BooleanField(
        default=True, help_text="False for praise and chatter, which can be liked or left."
    )
    due_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the first response is due under its brand and channel's target.",
    )
    priority_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="Its deadline brought forward by severity and tone (later for no reply needed): "
        "the inbox's default order, earliest first.",
    )
    suggestion = models.OneToOneField(
        SuggestionRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mention",
        help_text="What the engine answered; empty until the background task has run.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["received_at", "id"]
        permissions = [("assign_mention", "Can assign mentions to other agents")]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="mention_once_per_channel_id")
        ]
        indexes = [
            # A mention's thread, and a customer's history with the brand (console.selectors).
            models.Index(fields=["brand", "channel", "conversation_id"], name="mention_thread"),
            models.Index(fields=["brand", "author_handle", "received_at"], name="mention_customer_history"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.external_id}"

    @property
    def suggestions_failed(self) -> bool:
        """Computing its suggestions failed too often to try again (``suggest_error`` says why)."""
        return self.suggestion_id is None and self.suggest_failures >= settings.CARELINE_SUGGEST_ATTEMPTS

    @property
    def exposes_personal_data(self) -> bool:
        """Its text shows the customer's personal data in public (an e-mail is private)."""
        return bool(self.personal_data) and self.channel != Channel.EMAIL

    @property
    def personal_data_described(self) -> str:
        """What it shows, for the agent: "card number and e-mail address"."""
        return personal_data_describe(self.personal_data)

    @property
    def is_escalated(self) -> bool:
        return self.escalated_at is not None

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.NEW, self.Status.ASSIGNED)


class ResponseTarget(models.Model):
    """How soon a brand answers on a channel, and when its team works. The most specific target
    applies: brand and channel, then brand, then channel, then the default everywhere
    (``CARELINE_RESPONSE_TARGET_MINUTES``, round the clock)."""

    brand = models.ForeignKey(
        Brand,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="response_targets",
        help_text="Empty: every brand without a target of its own.",
    )
    channel = models.CharField(
        max_length=16,
        choices=Channel,
        blank=True,
        help_text="Empty: every channel without a target of its own.",
    )
    first_response_minutes = models.PositiveIntegerField(
        help_text="Business minutes from arrival to the first response."
    )
    resolution_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Business minutes from arrival to answered or dismissed; empty: no target.",
    )
    weekdays = models.CharField(
        max_length=7,
        default="0123456",
        help_text="The days the team works, Monday 0 to Sunday 6: 01234 for weekdays.",
    )
    opens_at = models.TimeField(null=True, blank=True, help_text="Empty with closes at: round the clock.")
    closes_at = models.TimeField(null=True, blank=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="The team's time zone, e.g. Europe/Berlin."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "channel"], condition=Q(brand__isnull=False), name="response_target_once"
            ),
            models.UniqueConstraint(
                fields=["channel"], condition=Q(brand__isnull=True), name="response_target_default_once"
            ),
        ]

    def __str__(self) -> str:
        where = " on ".join(part for part in (str(self.brand or "every brand"), self.channel or "") if part)
        return f"{where}: {self.first_response_minutes} min"


class MentionEvent(models.Model):
    """What happened to a mention in the console, when, and by whom: the record that handling
    times, agents at work and per-agent figures are computed from (insights.staffing)."""

    class Kind(models.TextChoices):
        RECEIVED = "received", "Received"
        OPENED = "opened", "Opened by an agent"
        TAKEN = "taken", "Taken"
        ASSIGNED = "assigned", "Assigned"
        RELEASED = "released", "Released"
        ESCALATED = "escalated", "Escalated"
        ANSWERED = "answered", "Answered"
        DISMISSED = "dismissed", "Dismissed"

    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["mention", "at"], name="mention_event_of_mention"),
            models.Index(fields=["agent", "at"], name="mention_event_of_agent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.mention_id} at {self.at:%Y-%m-%d %H:%M}"
