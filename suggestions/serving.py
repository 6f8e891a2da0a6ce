"""The index this process serves: the active version recorded in the database, loaded once and
swapped when another process activates a new one, with the patches written on top of it since
(suggestions.patching); both are checked at most every POLL_SECONDS. While the active version
cannot be read, the process keeps serving a complete older one, says so, and queues a repair."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import transaction

from kb.models import Example
from suggestions.embedder import get_embedder
from suggestions.entries import ENTRIES_FILE, VectorEntries
from suggestions.index_store import IndexStore, IndexUnavailable
from suggestions.indexing import HEAD_FILE, TITLE_ID_BASE
from suggestions.models import ActiveIndex, IndexVersion
from suggestions.patching import Overlay, patches_of
from suggestions.ranking import Calibration, IssueHead
from suggestions.tasks import index_sync_task
from suggestions.vector_index import Subset, VectorIndex

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
# A version that failed to load is tried again after this long, not on every poll.
BROKEN_RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class ServedIndex:
    version: str
    index: VectorIndex
    meta: dict[str, Any]
    head: IssueHead | None = None  # None for a version saved before heads existed
    calibration: Calibration | None = None  # None: the library was too small to calibrate
    issue_brands: dict[int, int | None] = field(default_factory=dict)
    entries: VectorEntries | None = None  # None for a version saved before it recorded them
    overlay: Overlay = field(default_factory=Overlay)
    _masks: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    _subsets: dict[int, Subset] = field(default_factory=dict, repr=False, compare=False)

    @property
    def patch_id(self) -> int:
        return self.overlay.patch_id

    def patched(self, patches: list[Any], *, upto: int) -> ServedIndex:
        """This index with ``patches`` applied on top, as of patch ``upto``. The version's
        prepared brand subsets are shared: a patch hides the vectors it replaces rather than
        changing the version's."""
        overlay = self.overlay.applied(patches, upto=upto)
        brands = {**self.issue_brands, **overlay.issue_brands}
        return dataclasses.replace(
            self, overlay=overlay, issue_brands=brands, _masks={}, _subsets=self._subsets
        )

    def reachable(self, brand_id: int | None) -> int:
        """At most how many vectors a search for ``brand_id`` can find."""
        among = self.vectors_for(brand_id)
        fresh = self.overlay.fresh
        return (among.count if among is not None else self.index.count()) + (fresh.count() if fresh else 0)

    def search(
        self, query: np.ndarray, depth: int, *, brand_id: int | None = None
    ) -> list[tuple[float, int]]:
        """The ``depth`` nearest vectors (score, id) among those that may answer ``brand_id``,
        best first: the version's, less the ones patches replaced or removed, and the patches'."""
        hidden = self.overlay.hidden
        scores, ids = self.index.search(
            query.reshape(1, -1), depth + len(hidden), among=self.vectors_for(brand_id)
        )
        hits = [
            (float(score), int(vector))
            for score, vector in zip(scores[0], ids[0], strict=True)
            if vector >= 0 and int(vector) not in hidden
        ]
        fresh = self.overlay.fresh
        if fresh is not None:
            scores, ids = fresh.search(query.reshape(1, -1), fresh.count())
            hits += [
                (float(score), int(vector))
                for score, vector in zip(scores[0], ids[0], strict=True)
                if self.may_answer(self.overlay.added[int(vector)][1], brand_id)
            ]
            hits.sort(key=lambda hit: -hit[0])
        return hits[:depth]

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

    def vectors_for(self, brand_id: int | None) -> Subset | None:
        """The index's vectors that may answer this brand, for searching among them alone (None:
        every vector may). Prepared once per brand and version: the titles and examples of the
        issues may_answer allows, examples as the library files them when first asked (an
        example moved since then is found under its new issue from the next version on)."""
        if brand_id is None or not self.issue_brands:  # a version saved before issue_brands
            return None
        subset = self._subsets.get(brand_id)
        if subset is None:
            issues = [issue for issue in self.issue_brands if self.may_answer(issue, brand_id)]
            if self.entries is not None:
                subset = self.index.subset(self.entries.of_issues(issues))
            else:
                examples = [
                    example
                    for start in range(0, len(issues), 500)  # bounded IN lists
                    for example in Example.objects.filter(
                        issue_id__in=issues[start : start + 500]
                    ).values_list("id", flat=True)
                ]
                titles = [TITLE_ID_BASE + issue for issue in issues]
                subset = self.index.subset(np.array([*examples, *titles], dtype=np.int64))
            self._subsets[brand_id] = subset
        return subset


def served_index_read(version: str) -> ServedIndex:
    """Load a saved version with its ranking; raises IndexUnavailable."""
    store = IndexStore()
    index, meta = store.read(version, expected_model=get_embedder().name)
    try:
        head_bytes = store.read_attachment(version, HEAD_FILE, meta)
        head = IssueHead.from_bytes(head_bytes) if head_bytes is not None else None
        calibration = Calibration.from_dict(meta["calibration"]) if meta.get("calibration") else None
        brands = {int(issue): brand for issue, brand in (meta.get("issue_brands") or {}).items()}
        entries_bytes = store.read_attachment(version, ENTRIES_FILE, meta)
        entries = VectorEntries.from_bytes(entries_bytes) if entries_bytes is not None else None
    except (ValueError, TypeError, AttributeError) as exc:
        raise IndexUnavailable(f"index version {version}: {exc}") from None
    return ServedIndex(version, index, meta, head, calibration, brands, entries)


class IndexHolder:
    """The index this process serves: the active version, or, while that one cannot be read, the
    last good one (or on a cold start the newest complete version of the same model) and why."""

    def __init__(self) -> None:
        self._served: ServedIndex | None = None
        self._degraded: str | None = None
        self._broken: dict[str, tuple[float, IndexUnavailable]] = {}
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> ServedIndex:
        """The active index, reloaded if another process activated a newer one. Raises
        IndexUnavailable when there is none or no version can be read."""
        return self.state()[0]

    def state(self) -> tuple[ServedIndex, str | None]:
        """The index served and, when it is not the active version, why not."""
        served = self._served
        if served is not None and time.monotonic() - self._checked_at < POLL_SECONDS:
            return served, self._degraded
        repair = False
        try:
            with self._lock:
                pointer = ActiveIndex.objects.select_related("version").filter(pk=1).first()
                version = pointer.version if pointer else None
                self._checked_at = time.monotonic()
                if pointer is None or version is None:
                    self._served = self._degraded = None
                    raise IndexUnavailable("No index has been built yet; run `manage.py rebuild_index`.")
                if self._served is None or self._served.version != version.version:
                    repair = version.version not in self._broken  # once per damaged version
                    try:
                        self._served = self._read(version.version)
                    except IndexUnavailable as exc:
                        if self._served is None:
                            self._served = self._newest_complete(exc, besides=version.version)
                        self._degraded = (
                            f"serving {self._served.version} because the active version "
                            f"{version.version} cannot be read: {exc}"
                        )
                    else:
                        self._degraded, repair = None, False
                if not self._degraded and self._served.patch_id < pointer.patch_id:
                    self._served = self._served.patched(
                        patches_of(version, after=self._served.patch_id, upto=pointer.patch_id),
                        upto=pointer.patch_id,
                    )
                return self._served, self._degraded
        finally:
            if repair:
                _repair_queue()

    def forget(self) -> None:
        with self._lock:
            self._served = self._degraded = None
            self._broken.clear()
            self._checked_at = 0.0

    def _read(self, version: str) -> ServedIndex:
        """served_index_read(), remembering a failure for BROKEN_RETRY_SECONDS: versions are never
        rewritten, so a damaged one stays damaged."""
        failed = self._broken.get(version)
        if failed is not None and time.monotonic() - failed[0] < BROKEN_RETRY_SECONDS:
            raise type(failed[1])(*failed[1].args)
        try:
            served = served_index_read(version)
        except IndexUnavailable as exc:
            self._broken[version] = (time.monotonic(), exc)
            logger.warning("Index %s unusable: %s", version, exc)
            raise
        self._broken.pop(version, None)
        return served

    def _newest_complete(self, failure: IndexUnavailable, *, besides: str) -> ServedIndex:
        """The newest other version once activated that still reads back whole (checksums, same
        model); raises ``failure`` when there is none."""
        on_disk = set(IndexStore().versions())
        for name in IndexVersion.objects.exclude(version=besides).values_list("version", flat=True):
            if name in on_disk:
                try:
                    return self._read(name)
                except IndexUnavailable:
                    continue
        raise failure


def _repair_queue() -> None:
    """Queue a sync once the current transaction commits: over a damaged active version it
    rebuilds in full. A broker that is down is logged; the periodic sync repairs it later."""

    def queue() -> None:
        try:
            index_sync_task.delay()
        except Exception:
            logger.exception("Could not queue a repair of the index; the periodic sync will")

    transaction.on_commit(queue)


def served_status() -> dict[str, Any]:
    """What this process serves, for /readyz and the index API: status ok, degraded (serving
    another version than the active one, with the reason) or unavailable."""
    try:
        served, degraded = holder.state()
    except IndexUnavailable as exc:
        return {"status": "unavailable", "detail": str(exc)}
    if degraded:
        return {"status": "degraded", "version": served.version, "detail": degraded}
    return {"status": "ok", "version": served.version}


holder = IndexHolder()
