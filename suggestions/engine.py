"""The suggestion engine's front door: what the rest of Careline asks of it.

The console, insights and the admin answer mentions and store what was answered
(suggestions.services), embed texts as mentions, read the library's vectors as served, and ask
whether an index is served, through these names alone. How the index is stored, built, patched
and served (index_store, indexing, patching, serving) stays behind them and may change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from suggestions.embedder import get_embedder
from suggestions.index_store import IndexUnavailable
from suggestions.indexing import TITLE_ID_BASE, issue_of_title
from suggestions.serving import ServedIndex, holder, served_status

__all__ = [
    "IndexUnavailable",
    "LibraryVectors",
    "index_readiness",
    "issue_of_title",
    "library_vectors",
    "texts_embed",
]


def texts_embed(texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of ``texts``, one row each, as the engine embeds the library and mentions
    (a mention is normalised first: suggestions.text.normalize_mention)."""
    if not texts:
        return np.empty((0, get_embedder().dimension), dtype=np.float32)
    return get_embedder().encode(list(texts))


@dataclass(frozen=True)
class LibraryVectors:
    """The library's vectors as the engine serves them now: an example's under its id, an issue's
    title under an id issue_of_title() reads."""

    version: str  # the version served
    state: str  # changes with every change served: the version and the patches on it
    _served: ServedIndex

    @staticmethod
    def examples(ids: np.ndarray) -> np.ndarray:
        """A mask of the ids that are examples' (the rest are issue titles')."""
        return ids < TITLE_ID_BASE

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, ids): every vector served, the version's with its patches applied."""
        vectors, ids = self._served.index.vectors()
        overlay = self._served.overlay
        if overlay.hidden:
            kept = ~np.isin(ids, np.fromiter(overlay.hidden, dtype=np.int64, count=len(overlay.hidden)))
            vectors, ids = vectors[kept], ids[kept]
        if overlay.added:
            vectors = np.vstack([vectors, np.stack([item[0] for item in overlay.added.values()])])
            ids = np.concatenate([ids, np.fromiter(overlay.added, dtype=np.int64, count=len(overlay.added))])
        return vectors, ids


def library_vectors() -> LibraryVectors:
    """The vectors served now (read with .arrays()). Raises IndexUnavailable when none are."""
    served = holder.get()
    return LibraryVectors(served.version, f"{served.version}+{served.patch_id}", served)


def index_readiness() -> dict[str, Any]:
    """Whether this process serves an index: status ok, degraded (an older version than the active
    one, with the reason) or unavailable (with the reason), and the version served."""
    return served_status()
