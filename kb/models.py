"""The troubleshooting library: brands, issues, how customers phrase them, and approved replies."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from kb.channels import Channel
from kb.templating import validate_response_template

handle_validator = RegexValidator(
    r"^@[A-Za-z0-9_]{1,30}$", "A handle is @ followed by letters, digits or underscores."
)
# Keys come from other systems (intent names such as "reverted_card_payment?"): anything
# printable without spaces or slashes.
key_validator = RegexValidator(r"^[^\s/]+$", "A key has no spaces or slashes.")
language_validator = RegexValidator(
    r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", "Use a language tag such as en, de or pt-BR."
)


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Optimistic concurrency: kb.services adds one on every write and refuses a writer who read an
    # older version (the API's ETag and If-Match, the admin form's hidden field).
    version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Goes up by one on every saved change."
    )

    class Meta:
        abstract = True


class Brand(TimeStamped):
    key = models.CharField(max_length=64, unique=True, validators=[key_validator])
    name = models.CharField(max_length=120)
    handle = models.CharField(max_length=32, validators=[handle_validator])
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="served_brands",
        help_text="The agents and leads who serve this brand. Someone who serves no brand sees them all.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name} ({self.handle})"


class Tag(models.Model):
    name = models.SlugField(max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Department(TimeStamped):
    """A part of the company that owns issues (baggage, billing, safety) and hears about them: its
    digest lists its issues' volume, trend, examples and content gaps."""

    name = models.CharField(max_length=120, unique=True)
    digest_recipients = models.TextField(
        blank=True, help_text="E-mail addresses that get the department's digest, one per line."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Issue(TimeStamped):
    """A problem customers raise, how agents handle it, and the replies approved for it."""

    class Severity(models.TextChoices):
        """How much a mention of the issue outranks others in the inbox (console.triage)."""

        LOW = "low", "Low: a question or remark that can wait"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High: money, travel or a service at stake"
        PRIVACY = "privacy", "Privacy or security"
        SAFETY = "safety", "Safety"

    key = models.CharField(max_length=100, unique=True, validators=[key_validator])
    brand = models.ForeignKey(
        Brand,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="issues",
        help_text="Leave empty for an issue every brand shares.",
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Internal handling notes for agents.")
    tags = models.ManyToManyField(Tag, blank=True, related_name="issues")
    private_channel = models.BooleanField(
        default=False, help_text="Agents should move the conversation to a private channel (DM)."
    )
    is_active = models.BooleanField(default=True, help_text="Retired issues are never suggested.")
    severity = models.CharField(
        max_length=16,
        choices=Severity,
        default=Severity.NORMAL,
        help_text="How urgent its mentions are: safety and privacy issues come first in the inbox.",
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="issues",
        help_text="The part of the company that owns the issue and gets its digest.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords(m2m_fields=[tags])

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.title


class Example(TimeStamped):
    """One way customers phrase an issue ("how customers say it")."""

    class Source(models.TextChoices):
        EDITOR = "editor", "Written by an editor"
        LEARNED = "learned", "Learned from a mention"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PENDING = "pending", "Pending review"
        RETIRED = "retired", "Retired"

    issue = models.ForeignKey(Issue, on_delete=models.PROTECT, related_name="examples")
    text = models.TextField(max_length=1000)
    source = models.CharField(max_length=16, choices=Source, default=Source.EDITOR)
    status = models.CharField(max_length=16, choices=Status, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["issue", "id"]
        constraints = [
            models.UniqueConstraint(fields=["issue", "text"], name="example_text_unique_per_issue")
        ]

    def __str__(self) -> str:
        return self.text


class Response(TimeStamped):
    """An approved (or on its way to approved) reply template for one issue and channel."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        RETIRED = "retired", "Retired"

    key = models.CharField(max_length=120, unique=True, validators=[key_validator])
    issue = models.ForeignKey(Issue, on_delete=models.PROTECT, related_name="responses")
    channel = models.CharField(max_length=16, choices=Channel, default=Channel.ANY)
    text = models.TextField(
        max_length=5000,
        validators=[validate_response_template],
        help_text="Django template. Variables: customer_name, customer_first_name, handle, agent_name, "
        "agent_initials, brand_name, brand_handle.",
    )
    language = models.CharField(max_length=16, default="en", validators=[language_validator])
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.DRAFT, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["issue", "key"]
        permissions = [("approve_response", "Can approve responses")]

    def __str__(self) -> str:
        return self.key

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": "Must be later than valid from."})

    def is_valid_at(self, moment: datetime | None = None) -> bool:
        """Inside its validity window (an open end counts as valid)."""
        moment = moment or timezone.now()
        return (self.valid_from is None or self.valid_from <= moment) and (
            self.valid_until is None or moment < self.valid_until
        )

    @property
    def is_live(self) -> bool:
        """Approved and currently valid: the only state in which it may be suggested."""
        return self.status == self.Status.APPROVED and self.is_valid_at()
