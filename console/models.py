"""The inbox: mentions pushed by integrations, each with the suggestions computed for it."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from kb.channels import Channel
from kb.models import Brand
from suggestions.models import SuggestionRequest


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

    def __str__(self) -> str:
        return f"{self.channel}:{self.external_id}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.NEW, self.Status.ASSIGNED)
