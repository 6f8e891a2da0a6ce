"""Serving an edit at once, whatever the library's size: patches on top of the active version.

Saving a version refits the ranking on every vector (suggestions.ranking), which takes longer as
the library grows; an edit must not wait for that. So a change to a few issues is first written
as an IndexPatch: those issues' vectors as the library holds them now (only texts that changed
are encoded), on top of the version being served. Each serving process applies the patches it has
not applied yet when it next looks at the active version (at most POLL_SECONDS later,
suggestions.serving) and searches their vectors beside the version's. The ranking keeps the
version's head and calibration until the next sync saves a version with everything refitted
(queued CARELINE_INDEX_COMPACT_SECONDS after a patch; the periodic sync runs in any case). That
sync reuses the patches' vectors instead of encoding them again, and carries the patches written
after it read the library over onto its version.

A vector a patch adds replaces the version's vector of the same id; one it removes is hidden.
Applied in order, the newest patch touching an id says what it is, so applying a patch again on
a version that already holds its change changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from django.db import transaction

from suggestions.embedder import get_embedder
from suggestions.indexing import library_snapshot, version_entries
from suggestions.models import ActiveIndex, IndexPatch, IndexVersion
from suggestions.vector_index import VectorIndex

logger = logging.getLogger(__name__)

_ATTEMPTS = 3


@dataclass(frozen=True)
class Overlay:
    """The patches applied on top of a version: the vectors they added (searched beside the
    version's), the version's vectors they hide, and the brands of the issues they touched."""

    patch_id: int = 0
    added: dict[int, tuple[np.ndarray, int, str]] = field(default_factory=dict)  # id -> vector, issue, hash
    removed: frozenset[int] = frozenset()
    issue_brands: dict[int, int | None] = field(default_factory=dict)
    fresh: VectorIndex | None = None  # the added vectors, searched exactly: they stay few

    @cached_property  # read by every search
    def hidden(self) -> frozenset[int]:
        """The version's vector ids a search must skip: replaced or removed."""
        return self.removed | self.added.keys()

    def applied(self, patches: Iterable[IndexPatch], *, upto: int = 0) -> Overlay:
        """This overlay with ``patches`` (in id order) applied on top, as of patch ``upto`` (or
        the last of them)."""
        added, removed = dict(self.added), set(self.removed)
        brands, patch_id = dict(self.issue_brands), max(self.patch_id, upto)
        for patch in patches:
            for vector in patch.removed:
                added.pop(vector, None)
                removed.add(vector)
            ids, issues, vectors = patch_arrays(patch)
            for row, vector in enumerate(ids.tolist()):
                added[vector] = (vectors[row], int(issues[row]), patch.added_hashes[row])
                removed.discard(vector)
            brands.update({int(issue): brand for issue, brand in patch.issue_brands.items()})
            patch_id = max(patch_id, patch.pk)
        fresh = None
        if added:
            rows = np.stack([item[0] for item in added.values()])
            fresh = VectorIndex(rows.shape[1], ann_min_vectors=np.iinfo(np.int64).max)
            fresh.index(rows, np.fromiter(added, dtype=np.int64, count=len(added)))
        return Overlay(patch_id, added, frozenset(removed), brands, fresh)

    def filed(
        self, held: dict[int, tuple[int, str]], *, issues: set[int], ids: set[int]
    ) -> dict[int, tuple[int, str]]:
        """``held`` (a version's id -> (issue, hash) for ``issues`` and ``ids``) as this overlay
        leaves it."""
        state = {vector: item for vector, item in held.items() if vector not in self.removed}
        for vector, (_, issue, digest) in self.added.items():
            if issue in issues or vector in ids:
                state[vector] = (issue, digest)
            else:
                state.pop(vector, None)  # moved to an issue outside the ones asked about
        return state


def patch_arrays(patch: IndexPatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A patch's added ids, their issues and their vectors (rows)."""
    ids = np.frombuffer(bytes(patch.added_ids), dtype=np.int64)
    issues = np.frombuffer(bytes(patch.added_issues), dtype=np.int64)
    vectors = np.frombuffer(bytes(patch.added_vectors), dtype=np.float32)
    return ids, issues, vectors.reshape(len(ids), -1) if len(ids) else vectors.reshape(0, 1)


def patches_of(base: IndexVersion, *, after: int = 0, upto: int | None = None) -> list[IndexPatch]:
    """The patches of ``base`` with after < id (<= upto), in order."""
    patches = IndexPatch.objects.filter(base=base, pk__gt=after)
    if upto is not None:
        patches = patches.filter(pk__lte=upto)
    return list(patches.order_by("pk"))


def index_patch(issue_ids: Iterable[int]) -> IndexPatch | None:
    """Bring the vectors of ``issue_ids`` up to date on top of the active version at once, and
    return the patch written; None when they already were, or no version is active yet (the sync
    that follows builds one). Starts again if another version is activated meanwhile."""
    issues = set(issue_ids)
    for _ in range(_ATTEMPTS):
        pointer = ActiveIndex.objects.select_related("version").filter(pk=1).first()
        if pointer is None or pointer.version is None or not issues:
            return None
        base = pointer.version
        entries, version_brands = version_entries(base.version)
        snapshot = library_snapshot(issue_ids=issues)
        wanted = set(snapshot.texts)
        overlay = Overlay().applied(patches_of(base, upto=pointer.patch_id))
        held = overlay.filed(entries.filed(issues=issues, ids=wanted), issues=issues, ids=wanted)
        brands = {**version_brands, **overlay.issue_brands}
        moved_brand = {issue for issue, brand in snapshot.brands.items() if brands.get(issue, brand) != brand}
        removed = sorted(vector for vector in held if vector not in wanted)
        added = [
            vector
            for vector in snapshot.texts
            if held.get(vector) != (snapshot.issues[vector], snapshot.hashes[str(vector)])
            or snapshot.issues[vector] in moved_brand  # searched among its new brand's vectors now
        ]
        if not removed and not added:
            return None
        vectors = (
            get_embedder().encode([snapshot.texts[vector] for vector in added]) if added else np.empty(0)
        )
        patch = IndexPatch(
            base=base,
            issues=sorted(issues),
            removed=removed,
            added_ids=np.array(added, dtype=np.int64).tobytes(),
            added_issues=np.array([snapshot.issues[vector] for vector in added], dtype=np.int64).tobytes(),
            added_hashes=[snapshot.hashes[str(vector)] for vector in added],
            added_vectors=np.asarray(vectors, dtype=np.float32).tobytes(),
            issue_brands={str(issue): brand for issue, brand in snapshot.brands.items()},
        )
        with transaction.atomic():
            pointer = ActiveIndex.objects.select_for_update().get(pk=1)
            if pointer.version_id != base.pk:
                continue  # another version is served now: work the change out against it
            patch.save()
            pointer.patch_id = patch.pk
            pointer.save(update_fields=["patch_id", "updated_at"])
        logger.info("Index %s patched by %s: +%s -%s", base.version, patch.pk, len(added), len(removed))
        return patch
    raise RuntimeError("The index kept changing under this patch; the next sync catches up.")
