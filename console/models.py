"""The inbox: mentions pushed by integrations, each with the suggestions computed for it."""

from __future__ import annotations

from django.conf import settings
from django.db import models

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
    reply_text = models.TextField(blank=True, help_text="What the agent sent, when answered.")
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
