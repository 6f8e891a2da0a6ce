"""Content gaps: what customers keep asking that the library does not answer, found by clustering
the mentions the engine abstained on, answered weakly, or saw rejected."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from kb.channels import Channel
from kb.models import Brand, Issue
from suggestions.models import SuggestionRequest


class GapRun(models.Model):
    """One clustering of the candidate mentions, scheduled or asked for."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        ON_DEMAND = "on_demand", "On demand"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    trigger = models.CharField(max_length=16, choices=Trigger)
    status = models.CharField(max_length=16, choices=Status, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    mentions = models.PositiveIntegerField(default=0, help_text="Candidate mentions clustered.")
    clusters = models.PositiveIntegerField(default=0)
    noise = models.PositiveIntegerField(default=0, help_text="Mentions that joined no cluster.")
    took_ms = models.FloatField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        get_latest_by = ["started_at", "id"]

    def __str__(self) -> str:
        return f"Gap run #{self.pk} ({self.status})"


class GapRunLock(models.Model):
    """The single row (id 1) a run locks while it claims its turn, so two runs never overlap."""

    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "gap run lock"


class GapCluster(models.Model):
    """Mentions that ask much the same thing the library does not answer well. Open clusters are
    replaced by each run; converted and dismissed ones stay, with their members."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONVERTED = "converted", "Converted into an issue"
        DISMISSED = "dismissed", "Dismissed"

    run = models.ForeignKey(GapRun, on_delete=models.CASCADE, related_name="gap_clusters")
    status = models.CharField(max_length=16, choices=Status, default=Status.OPEN, db_index=True)
    label = models.CharField(max_length=300, help_text="The most central mention, as the engine reads it.")
    volume = models.PositiveIntegerField(help_text="Mentions in the cluster.")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    recent = models.PositiveIntegerField(help_text="Mentions in the last 7 days of the run.")
    previous = models.PositiveIntegerField(help_text="Mentions in the 7 days before those.")
    brand = models.ForeignKey(
        Brand,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The brand most of its mentions named; empty when most named none.",
    )
    channel = models.CharField(max_length=16, choices=Channel, help_text="The channel most mentions came on.")
    issue = models.ForeignKey(
        Issue, null=True, blank=True, on_delete=models.SET_NULL, related_name="gap_clusters"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-volume", "-id"]

    def __str__(self) -> str:
        return self.label[:80]

    @property
    def trend(self) -> int:
        """Mentions in the last 7 days minus the 7 before: positive when the gap is growing."""
        return self.recent - self.previous


class GapMember(models.Model):
    """A mention in a cluster; the most central few are its examples."""

    class Reason(models.TextChoices):
        ABSTAINED = "abstained", "Engine abstained"
        REJECTED = "rejected", "Suggestions rejected"
        LOW_CONFIDENCE = "low_confidence", "Low confidence"

    cluster = models.ForeignKey(GapCluster, on_delete=models.CASCADE, related_name="members")
    request = models.ForeignKey(SuggestionRequest, on_delete=models.CASCADE, related_name="gap_memberships")
    reason = models.CharField(max_length=16, choices=Reason)
    centrality = models.FloatField(help_text="Cosine similarity to the cluster's centre.")
    is_example = models.BooleanField(default=False)

    class Meta:
        ordering = ["cluster", "-centrality", "request"]
        constraints = [models.UniqueConstraint(fields=["cluster", "request"], name="gap_member_once")]

    def __str__(self) -> str:
        return f"#{self.request_id} in cluster {self.cluster_id}"


class RenderFailure(models.Model):
    """A response whose template failed to render for a mention, so its draft was left out: how
    often and why, for the text that failed. Once the response's text changes the row is history
    (library health lists only failures of the current text)."""

    response = models.OneToOneField("kb.Response", on_delete=models.CASCADE, related_name="render_failure")
    template = models.TextField(help_text="The text that failed to render.")
    failures = models.PositiveIntegerField(default=0)
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField()
    reason = models.CharField(max_length=300, help_text="What went wrong (no customer data).")

    class Meta:
        ordering = ["-last_failed_at"]

    def __str__(self) -> str:
        return f"{self.response_id} failed {self.failures} time(s)"


class DigestSent(models.Model):
    """A department's weekly digest, once it was handed to the e-mail backend: the record that
    keeps a retried task, a second beat or a command run by hand from mailing it twice in a week."""

    department = models.ForeignKey("kb.Department", on_delete=models.CASCADE, related_name="digests_sent")
    week = models.DateField(help_text="The Monday of the week it was sent in.")
    since = models.DateField(help_text="First day the digest covered.")
    until = models.DateField(help_text="Last day the digest covered.")
    recipients = models.TextField(help_text="Who it went to, one address per line.")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-week", "department"]
        constraints = [models.UniqueConstraint(fields=["department", "week"], name="digest_once_a_week")]

    def __str__(self) -> str:
        return f"{self.department} digest, week of {self.week}"
