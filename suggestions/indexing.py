"""Keeping the vector index in step with the library: full rebuilds and incremental syncs.

Vector ids are stable: an example's id, or TITLE_ID_BASE + issue id for an issue's title. Every
saved version records, per vector id, a hash of the text it embeds, so a sync re-encodes only
what changed since the version it starts from and catches up on anything it missed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache, partial
from typing import Any

import numpy as np
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from kb.selectors import SearchableText, library_searchable_texts
from suggestions.embedder import Embedder, configured_model_name, get_embedder
from suggestions.entries import ENTRIES_FILE, VectorEntries, text_hash
from suggestions.index_store import IndexStore, IndexUnavailable
from suggestions.models import ActiveIndex, IndexPatch, IndexRebuildRequest, IndexVersion
from suggestions.progress import SILENT, Progress, RequestProgress
from suggestions.ranking import CALIBRATION_FOLDS, calibration_fit, head_fit
from suggestions.text import normalize_mention
from suggestions.vector_index import VectorIndex

logger = logging.getLogger(__name__)

TITLE_ID_BASE = 1 << 40
KEEP_VERSIONS = 3
HEAD_FILE = "head.npz"
# A version keeps its predecessor's calibration until this many vectors (or this share of the
# index) changed since it was fitted.
RECALIBRATE_MIN_CHANGES = 20
RECALIBRATE_SHARE = 0.05
_ACTIVATION_ATTEMPTS = 3
# A rebuild that is running touches its request this often; one untouched for REBUILD_LOST_AFTER
# lost its worker. One nobody started within REBUILD_QUEUE_GRACE lost its message.
REBUILD_HEARTBEAT_SECONDS = 5.0
REBUILD_LOST_AFTER = timedelta(seconds=30)
REBUILD_QUEUE_GRACE = timedelta(minutes=2)
REBUILD_MAX_ATTEMPTS = 5
# Texts encoded per call while someone watches a rebuild: the count moves every this many.
PROGRESS_BATCH = 64
# A sync renews its lease every REBUILD_HEARTBEAT_SECONDS; one not renewed for this long is over.
SYNC_LEASE = timedelta(seconds=30)


def vector_id(item: SearchableText) -> int:
    return item.example_id if item.example_id is not None else TITLE_ID_BASE + item.issue_id


def issue_of_title(vector: int) -> int | None:
    """The issue id behind a title vector, None for an example vector."""
    return vector - TITLE_ID_BASE if vector >= TITLE_ID_BASE else None


@dataclass(frozen=True)
class LibrarySnapshot:
    """What the index should hold right now: vector id -> (text to embed, its hash, its issue),
    and the brand of each issue (None: every brand's)."""

    texts: dict[int, str]
    hashes: dict[str, str]
    issues: dict[int, int]
    brands: dict[int, int | None]

    @property
    def hashes_by_id(self) -> dict[int, str]:
        return {int(key): digest for key, digest in self.hashes.items()}

    @property
    def digest(self) -> str:
        """Changes with any text, and with any example moving issue or issue moving brand."""
        hasher = hashlib.sha256()
        for key in sorted(self.hashes, key=int):
            hasher.update(f"{key}:{self.hashes[key]}:{self.issues[int(key)]};".encode())
        for issue, brand in sorted(self.brands.items()):
            hasher.update(f"{issue}@{brand};".encode())
        return hasher.hexdigest()[:32]


def library_snapshot(*, issue_ids: Iterable[int] | None = None) -> LibrarySnapshot:
    """The whole searchable library, or the part of it filed under ``issue_ids``."""
    items = library_searchable_texts(issue_ids=issue_ids)
    texts = {vector_id(item): normalize_mention(item.text) for item in items}
    hashes = {str(key): text_hash(text) for key, text in texts.items()}
    issues = {vector_id(item): item.issue_id for item in items}
    brands = {item.issue_id: item.brand_id for item in items}
    return LibrarySnapshot(texts, hashes, issues, brands)


def _issues_of(ids: np.ndarray, snapshot: LibrarySnapshot) -> np.ndarray:
    """The issue each vector is filed under: what an IVF quantizer is trained on at scale."""
    return np.fromiter((snapshot.issues[int(i)] for i in ids), dtype=np.int64, count=len(ids))


def active_version() -> IndexVersion | None:
    pointer = ActiveIndex.objects.select_related("version").filter(pk=1).first()
    return pointer.version if pointer else None


def _patch_mark() -> int:
    """The newest patch applied so far: a version built from the library read after this keeps
    every patch up to it, and must carry over the ones after."""
    return ActiveIndex.objects.filter(pk=1).values_list("patch_id", flat=True).first() or 0


@lru_cache(maxsize=4)  # versions are never rewritten
def version_entries(version: str) -> tuple[VectorEntries, dict[int, int | None]]:
    """What each vector of a saved version embeds, and the brand of each of its issues. Raises
    IndexUnavailable for a version saved before it recorded its vectors' issues."""
    store = IndexStore()
    meta = store.read_meta(version)
    data = store.read_attachment(version, ENTRIES_FILE, meta)
    if data is None:
        raise IndexUnavailable(f"index version {version} does not record its vectors' issues")
    try:
        entries = VectorEntries.from_bytes(data)
    except ValueError as exc:
        raise IndexUnavailable(f"index version {version}: {exc}") from None
    return entries, {int(issue): brand for issue, brand in (meta.get("issue_brands") or {}).items()}


def index_rebuild(*, show_progress: bool = False, progress: Progress | None = None) -> IndexVersion:
    """Embed the whole searchable library into a new version and make it the one served.
    ``progress`` hears of each step as it starts, and counts the texts encoded."""
    started = time.perf_counter()
    mark = _patch_mark()
    steps = progress or SILENT
    steps.step("reading the library")
    snapshot = library_snapshot()
    steps.step("loading the model")
    embedder = get_embedder()
    ids = np.fromiter(snapshot.texts, dtype=np.int64, count=len(snapshot.texts))
    texts = list(snapshot.texts.values())
    steps.step(f"encoding {len(texts)} texts", total=len(texts))
    if progress is None:
        vectors = embedder.encode(texts, show_progress=show_progress)
    else:
        vectors = _encode_counted(embedder, texts, progress)
    steps.step("building the index")
    index = VectorIndex(embedder.dimension)
    index.index(vectors, ids, groups=_issues_of(ids, snapshot))
    version = _save_and_activate(
        index,
        snapshot,
        kind=IndexVersion.Kind.FULL,
        base=None,
        added=len(ids),
        removed=0,
        started=started,
        patch_mark=mark,
        progress=steps,
    )
    assert version is not None  # a full rebuild never yields to a concurrent writer
    steps.finish()
    return version


def _encode_counted(embedder: Embedder, texts: list[str], progress: Progress) -> np.ndarray:
    parts = []
    for at in range(0, len(texts), PROGRESS_BATCH):
        parts.append(embedder.encode(texts[at : at + PROGRESS_BATCH]))
        progress.advance(len(parts[-1]))
    return np.vstack(parts) if parts else np.empty((0, embedder.dimension), dtype=np.float32)


def index_rebuild_request(*, requested_by: Any = None) -> IndexRebuildRequest:
    """Record that a full rebuild is wanted, or return the one already waiting to start (it will
    read the library as it is then). The caller queues ``index_rebuild_task`` with its id; if
    that message is lost, or the worker dies running it, index_rebuild_requests_lost() finds it."""
    with transaction.atomic():
        waiting = (
            IndexRebuildRequest.objects.select_for_update()
            .filter(finished_at=None, started_at=None)
            .order_by("requested_at")
            .first()
        )
        if waiting is not None:
            return waiting
        request = IndexRebuildRequest(requested_by=requested_by)
        request.full_clean()
        request.save()
        return request


def index_rebuild_requested(*, request_id: int, worker: str) -> IndexVersion | None:
    """Run the rebuild of request ``request_id`` on ``worker`` (a Celery node name) and mark it
    done. None, and nothing done, when it is done already or another worker is running it (a
    message delivered twice: a broker hands a dead worker's message out again later)."""
    with transaction.atomic():
        request = IndexRebuildRequest.objects.select_for_update().filter(pk=request_id).first()
        now = timezone.now()
        if request is None or request.finished_at is not None:
            return None
        if (
            request.started_at is not None
            and request.heartbeat_at
            and request.heartbeat_at > now - REBUILD_LOST_AFTER
        ):
            return None
        request.started_at = request.heartbeat_at = now
        request.started_by = worker
        request.attempts += 1
        request.save(update_fields=["started_at", "heartbeat_at", "started_by", "attempts"])
    try:
        touch = IndexRebuildRequest.objects.filter(pk=request_id)
        with _heartbeat(lambda: touch.update(heartbeat_at=timezone.now()), f"index-rebuild-{request_id}"):
            version = index_rebuild(progress=RequestProgress(request_id))
    except BaseException:
        _rebuild_requests_release([request_id])  # the task's retry starts it again at once
        raise
    IndexRebuildRequest.objects.filter(pk=request_id).update(finished_at=timezone.now(), version=version)
    return version


def index_rebuild_requests_lost(*, restarted_worker: str | None = None) -> list[int]:
    """The unfinished rebuild requests to queue again, oldest first: those no worker started
    within REBUILD_QUEUE_GRACE of being queued, those whose worker stopped touching them
    REBUILD_LOST_AFTER ago, and, given ``restarted_worker`` (the node name of a worker that has
    just started), those that node was running: they died with its previous run. Each is marked
    queued again; one that failed REBUILD_MAX_ATTEMPTS times is closed instead."""
    now = timezone.now()
    lost = Q(started_at=None, queued_at__lt=now - REBUILD_QUEUE_GRACE) | Q(
        started_at__isnull=False, heartbeat_at__lt=now - REBUILD_LOST_AFTER
    )
    if restarted_worker:
        lost |= Q(started_at__isnull=False, started_by=restarted_worker)
    with transaction.atomic():
        pending = IndexRebuildRequest.objects.select_for_update().filter(lost, finished_at=None)
        found = list(pending.order_by("requested_at").values_list("pk", "attempts"))
        ids = [pk for pk, attempts in found if attempts < REBUILD_MAX_ATTEMPTS]
        given_up = [pk for pk, attempts in found if attempts >= REBUILD_MAX_ATTEMPTS]
        _rebuild_requests_release(ids)
        IndexRebuildRequest.objects.filter(pk__in=given_up).update(finished_at=now)
    for pk in ids:
        logger.warning(
            "Index rebuild request %s was lost on its way or with its worker; queuing it again", pk
        )
    for pk in given_up:
        logger.error("Index rebuild request %s failed %s times; not trying again", pk, REBUILD_MAX_ATTEMPTS)
    return ids


def _rebuild_requests_release(ids: list[int]) -> None:
    IndexRebuildRequest.objects.filter(pk__in=ids).update(
        started_at=None, heartbeat_at=None, started_by="", queued_at=timezone.now()
    )


@contextmanager
def _heartbeat(touch: Callable[[], object], name: str) -> Iterator[None]:
    """Call ``touch`` every REBUILD_HEARTBEAT_SECONDS, on a thread of its own, while the body runs."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(REBUILD_HEARTBEAT_SECONDS):
                try:
                    touch()
                except DatabaseError:
                    logger.warning("Could not touch %s", name, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"{name}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class SyncInProgress(Exception):
    """Another process is syncing the index and there is no version to serve meanwhile."""


@contextmanager
def _sync_lease() -> Iterator[bool]:
    """Whether this process may sync now: one sync at a time across every worker, so a second one
    never takes the core a patch needs (it would only repeat the work). The lease lapses
    SYNC_LEASE after its holder stops renewing it (a killed worker)."""
    now = timezone.now()
    ActiveIndex.objects.get_or_create(pk=1)
    lease = ActiveIndex.objects.filter(pk=1)
    held = bool(
        lease.filter(Q(sync_lease_until=None) | Q(sync_lease_until__lt=now)).update(
            sync_lease_until=now + SYNC_LEASE
        )
    )
    if not held:
        yield False
        return
    try:
        with _heartbeat(lambda: lease.update(sync_lease_until=timezone.now() + SYNC_LEASE), "index-sync"):
            yield True
    finally:
        lease.update(sync_lease_until=None)


def index_sync(*, progress: Progress | None = None) -> IndexVersion:
    """Bring the served index up to date with the library, re-encoding only what changed; while
    another process syncs, leave it to that one (and the next: the patches it did not read are
    carried over onto its version) and return the active version.

    Starts from the active version; with none (or an unreadable one) it rebuilds in full. If
    another writer activates a version meanwhile, the sync starts again from that one.
    Raises SyncInProgress when another process syncs and no version is active yet.
    ``progress`` hears of each step, as index_rebuild's does.
    """
    with _sync_lease() as held:
        if held:
            synced = _index_sync(progress or SILENT)
            (progress or SILENT).finish()
            return synced
    version = active_version()
    if version is None:
        raise SyncInProgress("Another process is building the first index version.")
    logger.info("Another process is syncing the index; leaving the changes to it")
    return version


def _index_sync(progress: Progress) -> IndexVersion:
    for _ in range(_ACTIVATION_ATTEMPTS):
        started = time.perf_counter()
        base = active_version()
        if base is None:
            return index_rebuild(progress=progress)
        try:
            # Read even when nothing changed: an unreadable version, or one built by another
            # model, must be rebuilt rather than reported as up to date.
            store = IndexStore()
            index, meta = store.read(base.version, expected_model=configured_model_name())
            # A damaged head makes the version unservable just the same.
            store.read_attachment(base.version, HEAD_FILE, meta)
        except IndexUnavailable as exc:
            logger.warning("Active index %s unusable (%s); rebuilding in full", base.version, exc)
            return index_rebuild(progress=progress)
        mark = _patch_mark()
        progress.step("reading the library")
        snapshot = library_snapshot()
        if snapshot.digest == base.library_digest:
            return base
        indexed = _indexed_hashes(base.version, meta)
        stale = [int(key) for key, digest in indexed.items() if snapshot.hashes.get(key) != digest]
        fresh = [int(key) for key, digest in snapshot.hashes.items() if indexed.get(key) != digest]
        # With no text changed, an example moved issue or an issue moved brand: the ranking
        # still has to learn it, so a new version is written all the same.
        progress.step(f"encoding {len(fresh)} changed texts")
        if stale:
            index.delete(np.array(stale, dtype=np.int64))
        if fresh:
            index.append(
                _vectors_for(fresh, snapshot, base),
                np.array(fresh, dtype=np.int64),
                groups_of=partial(_issues_of, snapshot=snapshot),
            )
        version = _save_and_activate(
            index,
            snapshot,
            kind=IndexVersion.Kind.INCREMENTAL,
            base=base,
            added=len(fresh),
            removed=len(stale),
            started=started,
            calibration_base=meta,
            patch_mark=mark,
            progress=progress,
        )
        if version is not None:
            return version
    raise RuntimeError("The index kept changing under this sync; giving up for now.")


def _indexed_hashes(version: str, meta: dict[str, Any]) -> dict[str, str]:
    """vector id -> text hash of what a saved version holds."""
    if "entries" in meta:  # saved before the entries file
        return meta["entries"]
    entries, _ = version_entries(version)
    return {str(vector): digest for vector, digest in entries.hashes_by_id().items()}


def _vectors_for(ids: list[int], snapshot: LibrarySnapshot, base: IndexVersion) -> np.ndarray:
    """The vectors of ``ids`` as the library holds them: taken from the patches of ``base`` that
    encoded the same text already, the rest encoded now."""
    from suggestions.patching import Overlay, patches_of  # patching builds on this module

    known = Overlay().applied(patches_of(base)).added
    reusable = {
        vector: known[vector][0]
        for vector in ids
        if vector in known and known[vector][2] == snapshot.hashes[str(vector)]
    }
    missing = [vector for vector in ids if vector not in reusable]
    if missing:
        encoded = get_embedder().encode([snapshot.texts[vector] for vector in missing])
        reusable.update(zip(missing, encoded, strict=True))
    return np.stack([reusable[vector] for vector in ids]).astype(np.float32)


def _save_and_activate(
    index: VectorIndex,
    snapshot: LibrarySnapshot,
    *,
    kind: str,
    base: IndexVersion | None,
    added: int,
    removed: int,
    started: float,
    calibration_base: dict[str, Any] | None = None,
    patch_mark: int = 0,
    progress: Progress = SILENT,
) -> IndexVersion | None:
    """Fit the ranking on the index, write the version's files, then point every process at it;
    None if `base` is no longer the active version (the caller starts again).

    The calibration of `calibration_base` (the meta of the version this one starts from) is kept
    while few vectors changed since it was fitted; otherwise it is fitted again. Patches after
    `patch_mark` (written after the caller read the library) are carried over onto the new
    version."""
    store = IndexStore()
    embedder = get_embedder()
    vectors, ids = index.vectors()
    labels = np.array([snapshot.issues[int(vector)] for vector in ids], dtype=np.int64)
    took = {"prepared": time.perf_counter() - started}  # library read, encoded, indexed
    progress.step("fitting the ranking")
    head = head_fit(vectors, labels) if len(ids) else None
    took["head"] = time.perf_counter() - started - sum(took.values())
    calibration = _calibration_for(
        vectors,
        ids,
        labels,
        calibration_base,
        changed=added + removed,
        texts=snapshot.texts,
        embedder=embedder,
        progress=progress,
    )
    took["calibration"] = time.perf_counter() - started - sum(took.values())
    progress.step("writing")
    name = store.new_version()
    meta = store.write(
        name,
        index,
        {
            "model": embedder.name,
            "dimension": embedder.dimension,
            "count": index.count(),
            "library_digest": snapshot.digest,
            "built_at": timezone.now().isoformat(),
            "kind": kind,
            "issue_brands": {str(issue): brand for issue, brand in snapshot.brands.items()},
            "calibration": calibration,
        },
        attachments={
            ENTRIES_FILE: VectorEntries.of(ids.tolist(), snapshot.issues, snapshot.hashes_by_id).to_bytes(),
            **({HEAD_FILE: head.to_bytes()} if head is not None else {}),
        },
    )
    with transaction.atomic():
        pointer, _ = ActiveIndex.objects.select_for_update().get_or_create(pk=1)
        if base is not None and pointer.version_id != base.pk:
            store.delete_version(name)
            return None
        replaced = pointer.version_id
        version = IndexVersion.objects.create(
            version=name,
            kind=kind,
            model=meta["model"],
            dimension=meta["dimension"],
            count=meta["count"],
            library_digest=snapshot.digest,
            added=added,
            removed=removed,
            took_ms=(time.perf_counter() - started) * 1000,
        )
        if replaced is not None:
            IndexPatch.objects.filter(base_id=replaced, pk__gt=patch_mark).update(base=version)
        pointer.version = version
        pointer.save()
    transaction.on_commit(index_versions_prune)
    took["written"] = time.perf_counter() - started - sum(took.values())
    logger.info(
        "Index %s active: %s vectors (+%s -%s); %s",
        name,
        meta["count"],
        added,
        removed,
        ", ".join(f"{step} {seconds:.1f} s" for step, seconds in took.items()),
    )
    return version


def _calibration_for(
    vectors: np.ndarray,
    ids: np.ndarray,
    labels: np.ndarray,
    base: dict[str, Any] | None,
    *,
    changed: int,
    texts: dict[int, str],
    embedder: Embedder,
    progress: Progress = SILENT,
) -> dict[str, Any] | None:
    """The calibration to save with a version: the base's while it is fresh enough (refitting
    replays the library several times over), else a new fit; None when it cannot be fitted.
    With CARELINE_CALIBRATION_PERTURBED, the fit replays that many perturbed phrasings too,
    encoded as mentions by ``embedder``."""
    previous = (base or {}).get("calibration")
    if previous and previous.get("changes_since", 0) + changed <= max(
        RECALIBRATE_MIN_CHANGES, RECALIBRATE_SHARE * len(ids)
    ):
        return {**previous, "changes_since": previous.get("changes_since", 0) + changed}
    progress.step("calibrating", total=CALIBRATION_FOLDS)
    queryable = ids < TITLE_ID_BASE
    calibration = calibration_fit(
        vectors,
        labels,
        queryable,
        texts=[texts[int(vector)] for vector in ids],
        encode=lambda batch: embedder.encode([normalize_mention(text) for text in batch]),
        fold_done=progress.advance,
        perturbed=settings.CARELINE_CALIBRATION_PERTURBED,
    )
    return {**calibration.as_dict(), "changes_since": 0} if calibration is not None else None


def index_versions_prune() -> list[str]:
    """Delete the saved versions no process needs any more and return their names.

    Kept: the active version, the last KEEP_VERSIONS activated ones, and every complete version
    newer than those (a writer may be about to activate it). An incomplete version (a write that
    failed or died) goes once it is WRITE_GRACE old; a younger one may still be being written.
    """
    store = IndexStore()
    recent = list(IndexVersion.objects.values_list("version", flat=True)[:KEEP_VERSIONS])
    active = active_version()
    keep = {*recent, *([active.version] if active else [])}
    oldest = min(recent, default="")
    keep.update(name for name in store.versions() if name >= oldest)
    return store.prune(keep=sorted(keep))
