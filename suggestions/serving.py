"""The index this process serves: the active version recorded in the database, loaded once and
swapped when another process activates a new one (checked at most every POLL_SECONDS)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from suggestions.embedder import get_embedder
from suggestions.index_store import IndexStore, IndexUnavailable
from suggestions.indexing import HEAD_FILE, active_version
from suggestions.ranking import Calibration, IssueHead
from suggestions.vector_index import VectorIndex

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class ServedIndex:
    version: str
    index: VectorIndex
    meta: dict[str, Any]
    head: IssueHead | None = None  # None for a version saved before heads existed
    calibration: Calibration | None = None  # None: the library was too small to calibrate
    issue_brands: dict[int, int | None] = field(default_factory=dict)
    _masks: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def may_answer(self, issue_id: int, brand_id: int | None) -> bool:
        """Whether the issue serves this brand as of this version (brand None: any brand may
        ask; an issue unknown to the version is left to the library's own check)."""
        return brand_id is None or self.issue_brands.get(issue_id, brand_id) in (None, brand_id)

    def allowed_issues(self, brand_id: int | None) -> np.ndarray | None:
        """A mask over the head's issues that may answer this brand (None: all may)."""
        if self.head is None or brand_id is None:
            return None
        mask = self._masks.get(brand_id)
        if mask is None:
            mask = np.array([self.may_answer(int(issue), brand_id) for issue in self.head.issue_ids])
            self._masks[brand_id] = mask
        return mask


def served_index_read(version: str) -> ServedIndex:
    """Load a saved version with its ranking; raises IndexUnavailable."""
    store = IndexStore()
    index, meta = store.read(version, expected_model=get_embedder().name)
    try:
        head_bytes = store.read_attachment(version, HEAD_FILE, meta)
        head = IssueHead.from_bytes(head_bytes) if head_bytes is not None else None
        calibration = Calibration.from_dict(meta["calibration"]) if meta.get("calibration") else None
        brands = {int(issue): brand for issue, brand in (meta.get("issue_brands") or {}).items()}
    except (ValueError, TypeError, AttributeError) as exc:
        raise IndexUnavailable(f"index version {version}: {exc}") from None
    return ServedIndex(version, index, meta, head, calibration, brands)


class IndexHolder:
    def __init__(self) -> None:
        self._served: ServedIndex | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> ServedIndex:
        """The active index, reloaded if another process activated a newer one. Raises
        IndexUnavailable when there is none or it cannot be read."""
        served = self._served
        if served is not None and time.monotonic() - self._checked_at < POLL_SECONDS:
            return served
        with self._lock:
            version = active_version()
            self._checked_at = time.monotonic()
            if version is None:
                self._served = None
                raise IndexUnavailable("No index has been built yet; run `manage.py rebuild_index`.")
            if self._served is None or self._served.version != version.version:
                try:
                    served = served_index_read(version.version)
                except IndexUnavailable as exc:
                    if self._served is None:
                        raise
                    # Keep answering from the last good version instead of failing once per poll.
                    logger.warning(
                        "Index %s unusable (%s); still serving %s", version.version, exc, self._served.version
                    )
                    return self._served
                self._served = served
            return self._served

    def forget(self) -> None:
        with self._lock:
            self._served = None
            self._checked_at = 0.0


holder = IndexHolder()
