"""Mentions answered at the same time in one process share one encoding call.

A web process serves several requests at once on threads (gunicorn's gthread workers). Each
mention alone is a short text, and the encoder's fixed cost per call dominates it: a call on 8
mentions costs far less than 8 calls on one. ``BatchingEmbedder`` turns the encode() calls that
overlap in time into batches: a call that finds the encoder idle encodes its texts at once (at
one client nothing waits); calls that arrive while it is busy queue up, and when the running
batch is done the first of them encodes everything queued so far in one call. So batches grow
with the load by themselves, and a call never waits longer than the batch before its own.

Only one batch runs at a time in a process, which also keeps the tokenizer, not safe to call from
two threads at once, on one thread at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from suggestions.embedder import Embedder, get_embedder

# Texts in one batch at most (a mention brings itself and up to 4 topics): past this the padded
# batch costs as much per text as calls of their own, and the call after it waits longer.
MAX_BATCH_TEXTS = 32


@dataclass
class _Call:
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    vectors: np.ndarray | None = None
    error: BaseException | None = None
    leads: bool = False  # woken to encode the next batch rather than with its own vectors


class BatchingEmbedder:
    """An Embedder whose concurrent encode() calls in one process become one call of ``inner``
    (see the module docstring). Large encodes (a rebuild's) go straight through."""

    def __init__(self, inner: Embedder, *, max_batch_texts: int = MAX_BATCH_TEXTS) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.dimension: int = inner.dimension
        self._max = max_batch_texts
        self._lock = threading.Lock()
        self._queued: list[_Call] = []
        self._busy = False
        self.batches = 0  # encoding calls made, and the texts they carried: for measuring
        self.texts = 0

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Return a float32 array of shape (len(texts), dimension) with L2-normalised rows."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single string")
        call = _Call(list(texts))
        if len(call.texts) > self._max or show_progress or not call.texts:
            return self.inner.encode(call.texts, batch_size=batch_size, show_progress=show_progress)
        with self._lock:
            self._queued.append(call)
            call.leads = not self._busy
            self._busy = True
        if not call.leads:
            call.done.wait()
        if call.leads:
            self._run_batch()
        if call.error is not None:
            raise call.error
        assert call.vectors is not None
        return call.vectors

    def _run_batch(self) -> None:
        """Encode what is queued (up to the batch limit, first come first), hand each call its
        rows, then pass the lead to the first call still queued, or leave the encoder idle."""
        with self._lock:
            batch: list[_Call] = []
            count = 0
            while self._queued and (not batch or count + len(self._queued[0].texts) <= self._max):
                call = self._queued.pop(0)
                batch.append(call)
                count += len(call.texts)
        try:
            vectors = self.inner.encode([text for call in batch for text in call.texts])
        except BaseException as exc:  # every call of the batch fails as a call of its own would
            for call in batch:
                call.error = exc
        else:
            start = 0
            for call in batch:
                call.vectors = vectors[start : start + len(call.texts)]
                start += len(call.texts)
        with self._lock:
            self.batches += 1
            self.texts += count
            following = self._queued[0] if self._queued else None
            self._busy = following is not None
        for call in batch:
            call.leads = False
            call.done.set()
        if following is not None:
            following.leads = True
            following.done.set()

    def __repr__(self) -> str:
        return f"<BatchingEmbedder over {self.inner!r}>"


_lock = threading.Lock()
_batching: BatchingEmbedder | None = None


def mention_encoder() -> BatchingEmbedder:
    """The process's embedder (suggestions.embedder.get_embedder), batching concurrent calls.
    Follows get_embedder(): another embedder put in its place gets a batcher of its own."""
    global _batching
    inner = get_embedder()
    batching = _batching
    if batching is None or batching.inner is not inner:
        with _lock:
            if _batching is None or _batching.inner is not inner:
                _batching = BatchingEmbedder(inner)
            batching = _batching
    return batching
