"""Outbound webhooks: who is told about the inbox's events, and each message sent to them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from console.models import Mention
from kb.models import Brand


class Event(models.TextChoices):
    MENTION_CREATED = "mention.created", "A mention arrived"
    MENTION_SUGGESTIONS_READY = "mention.suggestions_ready", "Its suggestions were computed"
    MENTION_ANSWERED = "mention.answered", "It was answered"
    MENTION_DISMISSED = "mention.dismissed", "It was dismissed"
    MENTION_ESCALATED = "mention.escalated", "It was escalated to a lead"


class Subscription(models.Model):
    """A receiver told about the inbox's events, for some brands (none: every brand). The
    secret signs each delivery; it is kept encrypted (config.crypto) and shown back only as its
    last characters."""

    url = models.URLField(max_length=2000, help_text="Where deliveries are POSTed (http or https).")
    secret_encrypted = models.TextField(editable=False)
    secret_hint = models.CharField(max_length=8, editable=False, help_text="The secret's last characters.")
    events = models.JSONField(default=list, help_text="The events it receives.")
    brands = models.ManyToManyField(
        Brand,
        blank=True,
        related_name="webhook_subscriptions",
        help_text="The brands whose mentions it receives (and mentions of no brand); none: every brand.",
    )
    active = models.BooleanField(default=True, help_text="Off: nothing new is recorded or sent to it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was ended: nothing more is sent; its log is kept."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    """One event for one subscription: the exact body sent (the same every attempt, with the same
    ``delivery_id``), and how sending it went. Written in the transaction that made the event,
    so nothing is lost while the broker is down."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    # How sending it went, as the admin and the API show the log.
    OUTCOME_FIELDS = (
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "last_attempt_at",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    )

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="webhook_deliveries")
    event = models.CharField(max_length=40, choices=Event)
    body = models.TextField(help_text="The JSON body as signed and sent.")
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When it is tried next (empty once delivered or failed)."
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        permissions = [("redeliver_delivery", "Can send a delivery again")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["subscription", "mention", "id"], name="delivery_chain"),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"
