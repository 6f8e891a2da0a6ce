"""What the suggestion engine remembers: index versions, every request it answered (and each
response it suggested), feedback, and the example phrasings agents' work proposed."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from kb.channels import Channel
from kb.models import Brand, Example, Issue, Response


class IndexVersion(models.Model):
    """One saved index. The newest activated version is the one every process serves."""

    class Kind(models.TextChoices):
        FULL = "full", "Full rebuild"
        INCREMENTAL = "incremental", "Incremental update"

    version = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind)
    model = models.CharField(max_length=200)
    dimension = models.PositiveIntegerField()
    count = models.PositiveIntegerField()
    library_digest = models.CharField(max_length=64)
    added = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    took_ms = models.FloatField(default=0)
    activated_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-activated_at", "-id"]
        get_latest_by = ["activated_at", "id"]
        permissions = [("rebuild_index", "Can rebuild the suggestion index")]

    def __str__(self) -> str:
        return self.version


class SuggestionRequest(models.Model):
    """A mention the engine was asked about, and exactly what it answered."""

    text = models.TextField()
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=16, choices=Channel)
    external_id = models.CharField(max_length=200, blank=True, db_index=True)
    author_handle = models.CharField(max_length=100, blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    agent_name = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    abstained = models.BooleanField(default=False)
    index_version = models.CharField(max_length=64, blank=True)
    results = models.JSONField(
        default=list, help_text="Suggestions as ranked, best first, with scores; kept even when abstained."
    )
    took_ms = models.FloatField(default=0)
    received_at = models.DateTimeField(
        null=True, blank=True, help_text="When the mention reached the brand, as the integration reports it."
    )
    answered_at = models.DateTimeField(
        null=True, blank=True, help_text="When a reply was sent: the first accepted or edited feedback."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk}: {self.text[:60]}"

    @property
    def shown(self) -> list[dict]:
        """The suggestions the agent saw: none when the engine abstained."""
        return [] if self.abstained else self.results

    @property
    def candidates(self) -> list[dict]:
        """When the engine abstained, the ranked drafts it folded away, closest first: an agent
        may still pick one. None otherwise."""
        return self.results if self.abstained else []

    @property
    def offered(self) -> list[dict]:
        """Every draft an agent may pick: the suggestions shown, or the candidates."""
        return self.shown + self.candidates


class SuggestedResponse(models.Model):
    """One response a request ranked, in order: the rows analytics count. ``shown`` is false when
    the engine abstained (at most, the agent unfolded it as a candidate)."""

    request = models.ForeignKey(SuggestionRequest, on_delete=models.CASCADE, related_name="suggested")
    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="suggested")
    issue = models.ForeignKey(Issue, on_delete=models.PROTECT, related_name="suggested")
    position = models.PositiveSmallIntegerField(help_text="1 for the first suggestion.")
    confidence = models.FloatField()
    shown = models.BooleanField()

    class Meta:
        ordering = ["request", "position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "position"], name="suggested_once_per_position"),
        ]
        indexes = [models.Index(fields=["response", "shown", "position"])]

    def __str__(self) -> str:
        return f"#{self.request_id} {self.position}. {self.response_id}"


class Feedback(models.Model):
    """What an agent did with one suggested response; one row per agent and response."""

    class Action(models.TextChoices):
        ACCEPTED = "accepted", "Accepted as is"
        EDITED = "edited", "Edited, then sent"
        REJECTED = "rejected", "Rejected"

    request = models.ForeignKey(SuggestionRequest, on_delete=models.CASCADE, related_name="feedback")
    response = models.ForeignKey(Response, on_delete=models.PROTECT, related_name="feedback")
    action = models.CharField(max_length=16, choices=Action)
    final_text = models.TextField(blank=True)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "response", "given_by"], name="feedback_once_per_agent_and_response"
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.response_id} on #{self.request_id}"


class ExampleProposal(models.Model):
    """A mention an agent answered with one of an issue's responses, proposed as a new example
    phrasing of that issue. The example stays pending (never searched) until an editor
    activates it; several mentions may propose the same text."""

    example = models.ForeignKey(Example, on_delete=models.CASCADE, related_name="proposals")
    feedback = models.OneToOneField(Feedback, on_delete=models.CASCADE, related_name="proposal")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.example_id} from feedback {self.feedback_id}"


class ProposedExample(Example):
    """Learned examples waiting for an editor: the admin's review queue."""

    class Meta:
        proxy = True
        verbose_name = "proposed example"

    def __str__(self) -> str:
        return self.text


class ActiveIndex(models.Model):
    """The single pointer to the index version every process should serve (row id 1).

    Writers lock this row to activate a version, so two updates never overwrite each other."""

    version = models.ForeignKey(IndexVersion, null=True, on_delete=models.SET_NULL, related_name="+")
    # The newest IndexPatch applied on top of ``version`` (0: none): serving processes read both
    # in one query and apply the patches they have not applied yet.
    patch_id = models.PositiveBigIntegerField(default=0)
    # Until when a process holds the right to sync (suggestions.indexing): one at a time.
    sync_lease_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"active index: {self.version_id} + patches to {self.patch_id}"


class IndexPatch(models.Model):
    """A change to the library served at once on top of a saved version, before the next version
    (with its ranking refitted) includes it: the vectors of a few issues, as the library holds
    them now. Applied in id order; a vector added replaces the version's vector of the same id,
    a vector removed hides it."""

    base = models.ForeignKey(IndexVersion, on_delete=models.CASCADE, related_name="patches")
    issues = models.JSONField(help_text="Ids of the issues whose vectors this patch brings up to date.")
    removed = models.JSONField(default=list, help_text="Vector ids no longer searchable.")
    added_ids = models.BinaryField(help_text="int64 vector ids.")
    added_issues = models.BinaryField(help_text="int64: the issue of each added vector.")
    added_hashes = models.JSONField(help_text="A hash of the text each added vector embeds.")
    added_vectors = models.BinaryField(help_text="float32 rows, one per added id.")
    issue_brands = models.JSONField(
        default=dict, help_text="Brand of each searchable issue of the patch (null: every brand's)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"patch {self.pk} on {self.base_id}"


class IndexRebuildRequest(models.Model):
    """A full rebuild someone asked for, kept until it is done so that a worker dying in the
    middle of it (or a message lost on the way) does not lose it: a sweep queues it again."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(default=timezone.now, help_text="When it was last handed to a worker.")
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(max_length=200, blank=True, help_text="The worker running it.")
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Touched while the rebuild runs; a stale one means its worker died."
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)
    version = models.ForeignKey(
        IndexVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    progress = models.JSONField(
        default=dict,
        blank=True,
        help_text='How far the rebuild got: {"step", "done", "total", "steps": [{"name", "seconds"}]}.',
    )

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"rebuild #{self.pk} ({'done' if self.finished_at else 'pending'})"

    @property
    def status(self) -> str:
        """done, running (a worker started it) or queued."""
        return "done" if self.finished_at else "running" if self.started_at else "queued"


class Recalibration(models.Model):
    """A monotone correction of the engine's confidence learned from agents' verdicts on top
    suggestions (suggestions.recalibration): piecewise linear through ``knots`` ({"raw": [...],
    "served": [...]}, both increasing from 0 to 1). The newest row is applied to every confidence
    computed after it was fitted."""

    knots = models.JSONField(default=dict, help_text="The map's points: raw and served confidence.")
    verdicts = models.PositiveIntegerField(help_text="Verdicts the served fit was made on.")
    holdout = models.PositiveIntegerField(help_text="Newest verdicts the error was measured on.")
    ece = models.FloatField(help_text="Expected calibration error on the holdout, recalibrated.")
    ece_before = models.FloatField(help_text="The same, with the uncorrected confidence.")
    newest_verdict_at = models.DateTimeField()
    fitted_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-fitted_at", "-id"]
        get_latest_by = ["fitted_at", "id"]

    def __str__(self) -> str:
        return f"recalibration of {self.fitted_at:%Y-%m-%d %H:%M} on {self.verdicts} verdicts"
