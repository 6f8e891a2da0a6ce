"""An exact nearest-neighbour index over unit vectors, keyed by int64 ids.

It knows only vectors and ids: what an id means is the caller's business. Scores are inner
products, which equal cosine similarity when the vectors are L2-normalised (the embedder's job).

Thread-safety: any number of threads may ``search`` one instance at once, but nothing may
modify it meanwhile. Writers build a new object (``VectorIndex(...)``, or
``VectorIndex.from_bytes(current.to_bytes())`` to start from a copy), modify that, then swap
the reference that readers use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import faiss
import numpy as np

Vectors = np.ndarray | Sequence[Sequence[float]]
Ids = np.ndarray | Sequence[int]


class VectorIndex:
    """faiss IndexIDMap2 over IndexFlatIP: exhaustive inner-product search with stable ids."""

    def __init__(self, dimension: int) -> None:
        """Create an empty index for vectors of ``dimension`` floats."""
        if isinstance(dimension, bool) or not isinstance(dimension, int | np.integer) or dimension < 1:
            raise ValueError(f"dimension must be a positive integer, got {dimension!r}")
        self.dimension = int(dimension)
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))

    def index(self, vectors: Vectors, ids: Ids) -> None:
        """Replace the whole content with ``vectors`` under ``ids``."""
        x, i = self._checked_pairs(vectors, ids)
        self._index.reset()
        if len(i):
            self._index.add_with_ids(x, i)

    def append(self, vectors: Vectors, ids: Ids) -> None:
        """Add ``vectors`` under ``ids``; an id already present gets the new vector."""
        x, i = self._checked_pairs(vectors, ids)
        if not len(i):
            return
        self._index.remove_ids(i)  # type: ignore[arg-type]  # the Python wrapper takes id arrays
        self._index.add_with_ids(x, i)

    def delete(self, ids: Ids) -> int:
        """Remove ``ids`` (missing ones are ignored) and return how many were removed."""
        i = _checked_ids(ids, allow_duplicates=True)
        if not len(i) or not self.count():
            return 0
        return int(self._index.remove_ids(i))  # type: ignore[arg-type]

    def search(self, queries: Vectors, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores, ids), each (len(queries), min(k, count)), best match first."""
        q = self._checked_vectors(queries, "queries")
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
            raise ValueError(f"k must be a non-negative integer, got {k!r}")
        width = min(int(k), self.count())
        if width == 0 or len(q) == 0:
            return np.empty((len(q), width), dtype=np.float32), np.empty((len(q), width), dtype=np.int64)
        # Flat search is exhaustive, so with k <= count every row is full and no -1 appears.
        scores, ids = self._index.search(q, width)
        return scores, ids.astype(np.int64, copy=False)

    def count(self) -> int:
        """Return the number of vectors held."""
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        """Return a copy of the ids held, as int64, in storage order."""
        return faiss.vector_to_array(self._index.id_map).astype(np.int64, copy=False)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (vectors, ids) of everything held, in storage order."""
        inner = faiss.downcast_index(self._index.index)
        return inner.reconstruct_n(0, self.count()), self.ids()

    def to_bytes(self) -> bytes:
        """Serialise the index with faiss.serialize_index."""
        return faiss.serialize_index(self._index).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> VectorIndex:
        """Rebuild an index from ``to_bytes()`` output; raises ValueError if it is not one."""
        if not data:
            raise ValueError("no index data")
        try:
            raw = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError as exc:
            raise ValueError(f"unreadable faiss index: {str(exc).splitlines()[0]}") from None
        inner = faiss.downcast_index(raw.index) if isinstance(raw, faiss.IndexIDMap2) else None
        if not isinstance(inner, faiss.IndexFlat) or inner.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise ValueError(f"not an IndexIDMap2 over IndexFlatIP: {type(raw).__name__}")
        self = cls.__new__(cls)
        self.dimension = int(raw.d)
        self._index = cast(faiss.IndexIDMap2, raw)
        return self

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
