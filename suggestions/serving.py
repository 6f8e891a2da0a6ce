"""The index this process serves: the active version recorded in the database, loaded once and
swapped when another process activates a new one (checked at most every POLL_SECONDS)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from suggestions.embedder import get_embedder
from suggestions.index_store import IndexStore, IndexUnavailable
from suggestions.indexing import active_version
from suggestions.vector_index import VectorIndex

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class ServedIndex:
    version: str
    index: VectorIndex
    meta: dict[str, Any]


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
                    index, meta = IndexStore().read(version.version, expected_model=get_embedder().name)
                except IndexUnavailable as exc:
                    if self._served is None:
                        raise
                    # Keep answering from the last good version instead of failing once per poll.
                    logger.warning(
                        "Index %s unusable (%s); still serving %s", version.version, exc, self._served.version
                    )
                    return self._served
                self._served = ServedIndex(version.version, index, meta)
            return self._served

    def forget(self) -> None:
        with self._lock:
            self._served = None
            self._checked_at = 0.0


holder = IndexHolder()
