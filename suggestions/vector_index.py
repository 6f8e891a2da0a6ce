"""A nearest-neighbour index over unit vectors, keyed by int64 ids, that picks its structure by size.

It knows only vectors and ids: what an id means is the caller's business. Scores are inner
products, which equal cosine similarity when the vectors are L2-normalised (the embedder's job).

Below ``ann_min_vectors`` (settings.CARELINE_ANN_MIN_VECTORS) it is exact: faiss IndexIDMap2 over
IndexFlatIP, every vector compared. From there on it is approximate: an IndexIVFFlat whose
quantizer is trained on the vectors (NLIST_PER_ROOT * sqrt(n) lists), searching the lists
nearest each query: as many as it takes, measured when it is built, for TUNED_RECALL of a sample
of its own vectors' 10 nearest others (at least NPROBE); ``python -m bench.scale`` measures its
recall@10 against exact search.

The caller may say which vectors belong together (``groups``: an opaque label per vector, such
as the issue a phrasing is filed under). When there are at least as many groups as lists, the
quantizer is trained on the groups' mean vectors instead of a sample of the vectors: k-means
seeded from a sample leaves most of many small groups without a centroid of their own, scattered
over lists, so finding a vector's neighbours means opening most lists (1M synthetic phrasings in
20,000 topics of 50: 2,048 of 4,040 lists for recall@10 0.99, 330 ms a search; trained on the
topics' means, 32 lists, 1.3 ms). Fewer, larger groups are left to k-means, which seeds them
well.

The structure is chosen when the whole content is replaced (``index``), when appending takes an
exact index past the threshold, and when appending takes an IVF index to OUTGROWN times the
vectors its lists were made for (then ``groups_of`` says which belong together); otherwise
appends and deletes keep it. HNSW was measured and left out: faiss cannot delete from
it, and a sync deletes on every edit.

``subset(ids)`` prepares a restriction of ``search`` to some ids (a brand's vectors), applied
inside faiss (an IDSelector in the search parameters) instead of searching wider and filtering
afterwards; build it once per index state and reuse it. An IVF index keeps a copy of a subset
smaller than ``ann_min_vectors`` and searches it exactly: its cost is that of its own vectors.

Searches of a few queries run on one OpenMP thread (faiss's setting is per calling thread): on
a shared two-core machine the default two threads spin against each other and a single query
takes milliseconds instead of a fraction of one. Building uses every core.

An index read with ``from_file`` maps the file's vectors instead of copying them (faiss's
IO_FLAG_MMAP_IFC, for both structures): every process on a machine that maps one file shares one
copy in the page cache. faiss aborts the process on any change to a mapped index, so the first
``index``, ``append`` or ``delete`` copies it into this process's memory first.

Thread-safety: any number of threads may ``search`` one instance at once, but nothing may
modify it meanwhile. Writers build a new object (``VectorIndex(...)``, or
``VectorIndex.from_bytes(current.to_bytes())`` to start from a copy), modify that, then swap
the reference that readers use.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import faiss
import numpy as np

Vectors = np.ndarray | Sequence[Sequence[float]]
Ids = np.ndarray | Sequence[int]
Kind = Literal["exact", "ivf"]

# Used when Django settings are not configured (CARELINE_ANN_MIN_VECTORS otherwise).
DEFAULT_ANN_MIN_VECTORS = 20_000
# IVF shape: lists = NLIST_PER_ROOT * sqrt(n); at least NPROBE lists searched per query, more
# when TUNE_QUERIES of its own vectors need them to find TUNED_RECALL of their 10 nearest (a
# fixed 32 of 4,000 lists left 1M clustered synthetic vectors at recall@10 0.725, bench.scale).
NLIST_PER_ROOT = 4
NPROBE = 32
# An IVF index that appends take to this many times the vectors its lists were made for is
# built anew, with twice as many lists: else a library that grows by edits alone keeps lists
# made for its size when it crossed ann_min_vectors.
OUTGROWN = 4
TUNED_RECALL = 0.995
TUNE_QUERIES = 200
# k-means trains on at most this many vectors per list, for TRAIN_ITERATIONS rounds.
TRAIN_POINTS_PER_LIST = 32
TRAIN_ITERATIONS = 20
# A search of fewer queries than this runs on one thread; a batch may use every core.
SINGLE_THREAD_BELOW = 20
_HASHTABLE = faiss.DirectMap.Hashtable  # type: ignore[attr-defined]  # missing from faiss's stubs
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class Subset:
    """The ids a search may return, prepared by ``VectorIndex.subset`` for one index state."""

    count: int  # how many of its ids the index held when it was prepared
    params: Any = field(repr=False)  # faiss.SearchParameters(IVF) carrying the selector
    exact: Any = field(repr=False, default=None)  # or a flat copy of its vectors, searched instead
    _keep: tuple[Any, ...] = field(repr=False, default=())  # what faiss points into


class VectorIndex:
    """Exact (IndexIDMap2 over IndexFlatIP) below ``ann_min_vectors``, IndexIVFFlat above."""

    def __init__(self, dimension: int, *, ann_min_vectors: int | None = None) -> None:
        """Create an empty exact index for vectors of ``dimension`` floats; ``ann_min_vectors``
        (default: settings.CARELINE_ANN_MIN_VECTORS) is the size from which it is approximate."""
        if isinstance(dimension, bool) or not isinstance(dimension, int | np.integer) or dimension < 1:
            raise ValueError(f"dimension must be a positive integer, got {dimension!r}")
        self.dimension = int(dimension)
        self.ann_min_vectors = _ann_min_vectors(ann_min_vectors)
        self._index: Any = _exact(self.dimension)
        self._mapped = False

    @property
    def kind(self) -> Kind:
        """The structure in use: exact or ivf."""
        return "ivf" if isinstance(self._index, faiss.IndexIVFFlat) else "exact"

    @property
    def probes(self) -> tuple[int, int] | None:
        """(lists a search opens, lists) of an IVF index; None for an exact one."""
        return (int(self._index.nprobe), int(self._index.nlist)) if self.kind == "ivf" else None

    def index(self, vectors: Vectors, ids: Ids, *, groups: Ids | None = None) -> None:
        """Replace the whole content with ``vectors`` under ``ids``, choosing the structure by
        their number; ``groups`` (an integer per vector) says which belong together, for an
        IVF quantizer's training (see the module's docstring)."""
        x, i = self._checked_pairs(vectors, ids)
        g = None if groups is None else _checked_groups(groups, len(i))
        self._index = self._built_for(x, i, g)
        self._mapped = False

    def append(
        self, vectors: Vectors, ids: Ids, *, groups_of: Callable[[np.ndarray], Ids] | None = None
    ) -> None:
        """Add ``vectors`` under ``ids``; an id already present gets the new vector. The index is
        built anew from everything it then holds when that takes an exact index to
        ``ann_min_vectors``, or an IVF one to OUTGROWN times the vectors its lists were made for
        (their number would double); ``groups_of`` (ids -> a group label each) then says which
        belong together, as ``index``'s ``groups`` does."""
        x, i = self._checked_pairs(vectors, ids)
        if not len(i):
            return
        self.delete(i)
        self._own()
        if self._outgrown_by(len(i)):
            held, held_ids = self.vectors()
            every = np.concatenate([held_ids, i])
            groups = None if groups_of is None else _checked_groups(groups_of(every), len(every))
            self._index = self._built_for(np.vstack([held, x]), every, groups)
            return
        with _threads(_CORES):
            self._index.add_with_ids(x, i)

    def _outgrown_by(self, added: int) -> bool:
        count = self.count() + added
        if self.kind == "exact":
            return count >= self.ann_min_vectors
        return count >= OUTGROWN * (self._index.nlist / NLIST_PER_ROOT) ** 2

    def delete(self, ids: Ids) -> int:
        """Remove ``ids`` (missing ones are ignored) and return how many were removed."""
        i = _checked_ids(ids, allow_duplicates=True)
        if not len(i) or not self.count():
            return 0
        self._own()
        if self.kind == "ivf":
            # The IVF's id hashtable removes only through an explicit id array.
            return int(self._index.remove_ids(faiss.IDSelectorArray(len(i), faiss.swig_ptr(i))))
        return int(self._index.remove_ids(i))

    def search(
        self, queries: Vectors, k: int, *, among: Subset | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, ids), each (len(queries), min(k, count)), best match first; ``among``
        (from ``subset``) restricts the ids returned. Exact search fills every row (up to the
        subset's size); an IVF search may find fewer than k, padding its row with id -1."""
        q = self._checked_vectors(queries, "queries")
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
            raise ValueError(f"k must be a non-negative integer, got {k!r}")
        width = min(int(k), self.count() if among is None else among.count)
        if width == 0 or len(q) == 0:
            return np.empty((len(q), width), dtype=np.float32), np.empty((len(q), width), dtype=np.int64)
        with _threads(1 if len(q) < SINGLE_THREAD_BELOW else _CORES):
            if among is not None and among.exact is not None:
                scores, ids = among.exact.search(q, width)
            else:
                scores, ids = self._index.search(q, width, params=among.params if among else None)
        return scores, ids.astype(np.int64, copy=False)

    def subset(self, ids: Ids) -> Subset:
        """Prepare a restriction of ``search`` to ``ids`` (ids the index does not hold are
        ignored). It stays right while the content does not change: build it again after an
        ``index``, ``append`` or ``delete``. An IVF search among a share of the vectors opens
        nprobe / share lists, at most all: a list holds that share fewer candidates, and
        opening nprobe / sqrt(share) was measured to leave a 1% subset at recall@10 0.84. A
        subset smaller than ``ann_min_vectors`` is copied into an exact index of its own
        instead: scanning every list for it cost 3x the flat search (101 ms against 36 ms, 1%
        of 1M). A subset of every vector (a one-brand installation) searches without a
        selector: checking each vector against it doubled an IVF search at 1M (2.1 ms, 1.1)."""
        i = _checked_ids(ids, allow_duplicates=True)
        count = int(np.isin(i, self.ids()).sum()) if len(i) else 0
        if count == self.count():  # every vector: no selector to check each one against
            return Subset(count, None)
        selector = faiss.IDSelectorBatch(len(i), faiss.swig_ptr(i))
        if self.kind == "exact":
            params = faiss.SearchParameters()
            params.sel = selector
            return Subset(count, params, _keep=(selector, i))
        if count < self.ann_min_vectors:
            present = i[np.isin(i, self.ids())]
            exact = _exact(self.dimension)
            if len(present):
                exact.add_with_ids(self._index.reconstruct_batch(present), present)
            return Subset(count, None, exact=exact)
        share = max(count, 1) / max(self.count(), 1)
        nprobe = min(self._index.nlist, max(self._index.nprobe, math.ceil(self._index.nprobe / share)))
        params = faiss.SearchParametersIVF()
        params.sel, params.nprobe = selector, nprobe
        return Subset(count, params, _keep=(selector, i))

    def count(self) -> int:
        """Return the number of vectors held."""
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        """Return a copy of the ids held, as int64, in storage order."""
        if self.kind == "ivf":
            lists = self._index.invlists
            return np.concatenate(
                [np.empty(0, dtype=np.int64)]
                + [
                    faiss.rev_swig_ptr(lists.get_ids(n), lists.list_size(n)).copy()
                    for n in range(self._index.nlist)
                    if lists.list_size(n)
                ]
            ).astype(np.int64, copy=False)
        return faiss.vector_to_array(self._index.id_map).astype(np.int64, copy=False)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (vectors, ids) of everything held, in storage order."""
        if self.kind == "ivf":
            lists, width = self._index.invlists, self._index.code_size
            codes = [
                faiss.rev_swig_ptr(lists.get_codes(n), lists.list_size(n) * width).copy()
                for n in range(self._index.nlist)
                if lists.list_size(n)
            ]
            flat = np.concatenate([np.empty(0, dtype=np.uint8), *codes]).view(np.float32)
            return flat.reshape(-1, self.dimension), self.ids()
        inner = faiss.downcast_index(self._index.index)
        return inner.reconstruct_n(0, self.count()), self.ids()

    def to_bytes(self) -> bytes:
        """Serialise the index with faiss.serialize_index."""
        return faiss.serialize_index(self._index).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, *, ann_min_vectors: int | None = None) -> VectorIndex:
        """Rebuild an index from ``to_bytes()`` output; raises ValueError if it is not one."""
        if not data:
            raise ValueError("no index data")
        try:
            raw = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError as exc:
            raise ValueError(f"unreadable faiss index: {str(exc).splitlines()[0]}") from None
        return cls._wrapping(raw, mapped=False, ann_min_vectors=ann_min_vectors)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, ann_min_vectors: int | None = None) -> VectorIndex:
        """Map an index file written from ``to_bytes()`` output (see the module's docstring);
        raises ValueError if it is not one. The file must not change while the index is in use:
        replace it by renaming another over it."""
        try:
            raw = faiss.read_index(os.fspath(path), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError as exc:
            raise ValueError(f"unreadable faiss index: {str(exc).splitlines()[0]}") from None
        return cls._wrapping(raw, mapped=True, ann_min_vectors=ann_min_vectors)

    @property
    def mapped(self) -> bool:
        """Whether the vectors are still those of a mapped file (no change made since from_file)."""
        return self._mapped

    @classmethod
    def _wrapping(cls, raw: Any, *, mapped: bool, ann_min_vectors: int | None) -> VectorIndex:
        if not _is_exact(raw) and not _is_ivf(raw):
            raise ValueError(f"not an exact or IVF inner-product index: {type(raw).__name__}")
        self = cls.__new__(cls)
        self.dimension = int(raw.d)
        self.ann_min_vectors = _ann_min_vectors(ann_min_vectors)
        self._index = raw
        self._mapped = mapped
        return self

    def _own(self) -> None:
        """Copy a mapped index into this process's memory before it changes."""
        if self._mapped:
            self._index = faiss.deserialize_index(faiss.serialize_index(self._index))
            self._mapped = False

    def __repr__(self) -> str:
        return f"<VectorIndex dimension={self.dimension} count={self.count()}>"

    def _checked_vectors(self, vectors: Vectors, what: str) -> np.ndarray:
        try:
            x = np.asarray(vectors)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"{what} must be a 2-D array of numbers: {exc}") from None
        if x.shape in ((0,), (0, 0)):  # [] or [[]]-like: no vectors at all
            x = np.empty((0, self.dimension), dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"{what} must be 2-D (n, {self.dimension}), got shape {x.shape}")
        if x.shape[1] != self.dimension:
            raise ValueError(f"{what} have dimension {x.shape[1]}, the index has {self.dimension}")
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise ValueError(f"{what} must be numeric, got dtype {x.dtype}")
        x = np.ascontiguousarray(x, dtype=np.float32)
        if not np.isfinite(x).all():
            raise ValueError(f"{what} contain NaN or infinite values")
        return x

    def _built_for(self, x: np.ndarray, i: np.ndarray, groups: np.ndarray | None = None) -> Any:
        """A new faiss index holding ``x`` under ``i``, exact or IVF by their number."""
        with _threads(_CORES):
            built = (
                _exact(self.dimension) if len(i) < self.ann_min_vectors else _ivf(x, self.dimension, groups)
            )
            if len(i):
                built.add_with_ids(x, i)
            if isinstance(built, faiss.IndexIVFFlat):
                built.nprobe = _tuned_nprobe(built, x, i)
        return built

    def _checked_pairs(self, vectors: Vectors, ids: Ids) -> tuple[np.ndarray, np.ndarray]:
        x = self._checked_vectors(vectors, "vectors")
        i = _checked_ids(ids)
        if len(i) != len(x):
            raise ValueError(f"got {len(x)} vectors but {len(i)} ids")
        return x, i


def _checked_ids(ids: Ids, *, allow_duplicates: bool = False) -> np.ndarray:
    i = np.asarray(ids)
    if i.size == 0:
        return np.empty(0, dtype=np.int64)
    if i.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {i.shape}")
    if not np.issubdtype(i.dtype, np.integer):
        raise ValueError(f"ids must be integers, got dtype {i.dtype}")
    if np.issubdtype(i.dtype, np.unsignedinteger) and i.max() > np.iinfo(np.int64).max:
        raise ValueError("ids must fit in int64")
    i = np.ascontiguousarray(i, dtype=np.int64)
    if (i < 0).any():
        # -1 is faiss's "no result"; negative ids would be indistinguishable from it.
        raise ValueError("ids must be non-negative")
    if allow_duplicates:
        return np.unique(i)
    if len(np.unique(i)) != len(i):
        values, counts = np.unique(i, return_counts=True)
        raise ValueError(f"duplicate ids in one call: {values[counts > 1][:10].tolist()}")
    return i


def _checked_groups(groups: Ids, count: int) -> np.ndarray:
    g = np.asarray(groups)
    if g.ndim != 1 or len(g) != count:
        raise ValueError(f"groups must be 1-D with one label per vector ({count}), got shape {g.shape}")
    if count and not np.issubdtype(g.dtype, np.integer):
        raise ValueError(f"groups must be integers, got dtype {g.dtype}")
    return g.astype(np.int64, copy=False)


def _group_means(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The unit mean vector of each group, one row per distinct label."""
    _, member_of = np.unique(groups, return_inverse=True)
    sums = np.zeros((int(member_of.max()) + 1 if len(member_of) else 0, x.shape[1]), dtype=np.float32)
    np.add.at(sums, member_of, x)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return sums / np.where(norms > 0, norms, 1)


def _exact(dimension: int) -> Any:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def _ivf(x: np.ndarray, dimension: int, groups: np.ndarray | None = None, *, nlist: int | None = None) -> Any:
    """An empty IndexIVFFlat whose lists (``nlist``, by default NLIST_PER_ROOT * sqrt(n)) are
    trained on ``x`` (a sample of it, seeded), or on its groups' means when ``groups`` names at
    least as many groups as there are lists."""
    nlist = nlist or max(1, min(len(x), round(NLIST_PER_ROOT * math.sqrt(len(x)))))
    quantizer = faiss.IndexFlatIP(dimension)
    ivf = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.niter = TRAIN_ITERATIONS
    ivf.cp.max_points_per_centroid = TRAIN_POINTS_PER_LIST
    ivf.cp.min_points_per_centroid = 1
    ivf.cp.seed = 1234
    sample = x
    means = None if groups is None else _group_means(x, groups)
    if means is not None and len(means) >= nlist:
        sample = means
    elif len(x) > nlist * TRAIN_POINTS_PER_LIST:
        rows = np.random.default_rng(1234).choice(len(x), nlist * TRAIN_POINTS_PER_LIST, replace=False)
        sample = x[np.sort(rows)]
    ivf.train(sample)
    ivf.nprobe = min(NPROBE, nlist)
    # Deleting and replacing by id (every sync) needs the id -> list map.
    ivf.set_direct_map_type(_HASHTABLE)
    return ivf


def _tuned_nprobe(ivf: Any, x: np.ndarray, i: np.ndarray) -> int:
    """The fewest lists (NPROBE, doubling up to all) with which a sample of the vectors finds
    TUNED_RECALL of its 10 nearest others, as exact search ranks them."""
    rows = np.random.default_rng(1234).choice(len(x), min(len(x), TUNE_QUERIES), replace=False)
    k = min(11, len(x))
    _, nearest = faiss.knn(x[rows], x, k, metric=faiss.METRIC_INNER_PRODUCT)
    truth = [set(i[positions].tolist()) - {int(i[row])} for row, positions in zip(rows, nearest, strict=True)]
    nprobe = min(NPROBE, ivf.nlist)
    while nprobe < ivf.nlist:
        ivf.nprobe = nprobe
        _, found = ivf.search(x[rows], k)
        hits = sum(len(want & set(got.tolist())) for want, got in zip(truth, found, strict=True))
        if hits >= TUNED_RECALL * max(sum(map(len, truth)), 1):
            break
        nprobe = min(ivf.nlist, nprobe * 2)
    return nprobe


def _is_exact(raw: Any) -> bool:
    if not isinstance(raw, faiss.IndexIDMap2):
        return False
    inner = faiss.downcast_index(raw.index)
    return isinstance(inner, faiss.IndexFlat) and inner.metric_type == faiss.METRIC_INNER_PRODUCT


def _is_ivf(raw: Any) -> bool:
    if not isinstance(raw, faiss.IndexIVFFlat) or raw.metric_type != faiss.METRIC_INNER_PRODUCT:
        return False
    quantizer = faiss.downcast_index(raw.quantizer)
    return (
        isinstance(quantizer, faiss.IndexFlat)
        and quantizer.metric_type == faiss.METRIC_INNER_PRODUCT
        and raw.is_trained
        and raw.direct_map.type == _HASHTABLE
        and raw.invlists is not None
        and isinstance(faiss.downcast_InvertedLists(raw.invlists), faiss.ArrayInvertedLists)
    )


def _ann_min_vectors(given: int | None) -> int:
    if given is None:
        from django.conf import settings

        given = (
            getattr(settings, "CARELINE_ANN_MIN_VECTORS", DEFAULT_ANN_MIN_VECTORS)
            if settings.configured
            else DEFAULT_ANN_MIN_VECTORS
        )
    if isinstance(given, bool) or not isinstance(given, int | np.integer) or given < 1:
        raise ValueError(f"ann_min_vectors must be a positive integer, got {given!r}")
    return int(given)


@contextmanager
def _threads(count: int) -> Iterator[None]:
    """Run faiss on ``count`` OpenMP threads in this thread, then restore its setting."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)
