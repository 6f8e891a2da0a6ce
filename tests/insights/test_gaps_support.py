"""What the content-gap tests share: an embedder whose vectors the test designs, and seeded sets
of mentions (tight groups plus scattered ones). No tests here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.utils import timezone

from insights.gaps import gaps_find
from insights.models import GapCluster
from suggestions.models import SuggestionRequest
from suggestions.text import normalize_mention
from tests.factories import BrandFactory, SuggestionRequestFactory

DIMENSION = 32
SPREAD = 0.05  # how far a group's mentions sit from its centre: tight, well inside HDBSCAN's reach


class PlannedEmbedder:
    """Returns the vector planned for each text (looked up as the service encodes it, normalized);
    a text nobody planned is an error, so a test knows exactly what was clustered."""

    name = "planned"
    dimension = DIMENSION

    def __init__(self) -> None:
        self.vectors: dict[str, np.ndarray] = {}
        self.rng = np.random.default_rng(7)

    def plan(self, text: str, vector: np.ndarray) -> None:
        self.vectors[normalize_mention(text)] = (vector / np.linalg.norm(vector)).astype(np.float32)

    def near(self, text: str, axis: int, spread: float = SPREAD) -> None:
        """`text` lands close to the unit vector of `axis` (a group's centre)."""
        self.plan(text, np.eye(DIMENSION)[axis] + self.rng.normal(0, spread, DIMENSION))

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        return np.stack([self.vectors[text] for text in texts])


def mention(
    embedder: PlannedEmbedder,
    text: str,
    *,
    axis: int,
    spread: float = SPREAD,
    created_at: datetime | None = None,
    **fields: object,
) -> SuggestionRequest:
    """An abstained mention whose vector sits near `axis`."""
    embedder.near(text, axis, spread)
    fields.setdefault("abstained", True)
    return SuggestionRequestFactory(
        text=text, created_at=created_at or timezone.now() - timedelta(days=1), **fields
    )


def group(
    embedder: PlannedEmbedder, topic: str, size: int, *, axis: int, **fields: object
) -> list[SuggestionRequest]:
    """`size` abstained mentions about `topic`, tight around `axis` (`fields` go to each)."""
    return [mention(embedder, f"{topic} (customer {number})", axis=axis, **fields) for number in range(size)]


def scattered(embedder: PlannedEmbedder, count: int, *, first_axis: int) -> list[SuggestionRequest]:
    """Mentions about nothing in common: each alone on its own axis, far from every other."""
    return [
        mention(embedder, f"one-off complaint number {number}", axis=first_axis + number, spread=0.0)
        for number in range(count)
    ]


@dataclass
class FoundGaps:
    refunds: GapCluster  # 7 Acme Air mentions, the largest; two example phrasings read the same
    app: GapCluster  # 5 Globex mentions, all in the last week


def gaps_found(embedder: PlannedEmbedder) -> FoundGaps:
    """Two open gaps, found by a run over seeded mentions."""
    acme = BrandFactory()
    globex = BrandFactory(key="globex-bank", name="Globex Bank", handle="@GlobexBank")
    month_ago = timezone.now() - timedelta(days=20)
    # Same words once handles, links and repeated marks are gone: one example phrasing.
    for text in ("@AcmeAir where is my refund?? https://t.co/a1", "where is my refund??"):
        mention(embedder, text, axis=0, spread=0.001, brand=acme, created_at=month_ago)
    for number in range(5):
        mention(
            embedder,
            f"@AcmeAir refund still not here, day {number}",
            axis=0,
            brand=acme,
            created_at=month_ago,
        )
    group(embedder, "the Globex app logs me out", 5, axis=1, brand=globex)
    gaps_find()
    refunds, app = GapCluster.objects.filter(status=GapCluster.Status.OPEN).order_by("-volume")
    return FoundGaps(refunds, app)
