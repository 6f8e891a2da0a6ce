"""A mention through ONNX Runtime: the same weights as the torch model, about twice as fast for
a single short text on a CPU (measured: 6 ms against 13-15 ms for all-MiniLM-L6-v2, one thread),
and a mention with its topics (a few short texts, padded to the longest) in one call.

The graph is exported from the loaded sentence-transformers model on first use into the model
cache directory, then checked against torch on a few sentences: if the outputs differ (a model
that does not mean-pool, say), it is not used and torch serves alone.

A graph that passed that check is recorded beside it (``<name>.mention.json``: the graph, the
model's tokenizer saved as tokenizer.json, torch's vectors for PROBES). A later process loads it
from the record without importing torch at all (``load_recorded``: 3 s and ~250 MB of a web
worker's start), and uses it only if it still reproduces those vectors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

# Sentences the exported graph must reproduce before it is trusted.
PROBES = (
    "@AcmeAir my flight got cancelled and nobody can rebook me!!",
    "where is my card",
    "I ordered a new card over a week ago and it still has not arrived, what should I do now?",
    # Longer than any model's max_seq_length: cut where torch cuts it.
    " ".join(["my bag never arrived and nobody answers the phone"] * 80),
)
TOLERANCE = 1e-4
RECORD_SUFFIX = ".mention.json"


class OnnxMentionEncoder:
    """Encodes one text at a time with ONNX Runtime; build() returns None when it cannot be used."""

    def __init__(
        self, session: Any, tokenizer: Any, max_length: int | None, *, pad: tuple[int, str] = (0, "[PAD]")
    ) -> None:
        """``max_length``: tokens kept of a text, the model's max_seq_length as torch keeps them
        (the tokenizer's own limit is often longer: 512 against 256 for all-MiniLM-L6-v2).
        ``tokenizer``: the model's (transformers) or its fast core (a tokenizers.Tokenizer, which
        pads with ``pad``: the model's padding token's id and text)."""
        self._session = session
        self._tokenizer = tokenizer
        self._max_length = max_length
        self._inputs = [item.name for item in session.get_inputs()]
        if not callable(tokenizer):  # a tokenizers.Tokenizer: truncates and pads as configured
            tokenizer.enable_truncation(max_length or 512)
            tokenizer.enable_padding(pad_id=pad[0], pad_token=pad[1])

    @classmethod
    def build(
        cls, model: Any, *, cache_dir: Path, name: str, threads: int | None
    ) -> OnnxMentionEncoder | None:
        """Export (once) and load the graph for a loaded SentenceTransformer, verified against it."""
        try:
            import onnxruntime
        except ImportError:
            return None
        try:
            path = exported_graph(model, cache_dir, name)
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads or 0
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            encoder = cls(session, model.tokenizer, model.max_seq_length)
            expected = model.encode(list(PROBES), normalize_embeddings=True, show_progress_bar=False)
            # One at a time and as one padded call: both must reproduce torch.
            actual = np.vstack([encoder.encode_one(text) for text in PROBES])
            actual_together = encoder.encode_few(list(PROBES))
        except Exception as exc:  # any export or runtime failure: torch still serves
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            logger.warning("ONNX Runtime unavailable for %s (%s); encoding with torch only", name, reason)
            return None
        difference = float(max(np.abs(expected - actual).max(), np.abs(expected - actual_together).max()))
        if difference > TOLERANCE:
            logger.warning("ONNX graph of %s differs from torch by %.2g; not used", name, difference)
            return None
        try:
            _record(model, cache_dir, name, path, expected)
        except Exception as exc:  # a process without the record still works, with torch loaded
            logger.warning("Could not record the ONNX graph of %s (%s)", name, exc)
        return encoder

    @classmethod
    def load_recorded(
        cls, *, cache_dir: Path, name: str, threads: int | None
    ) -> tuple[OnnxMentionEncoder, int] | None:
        """The encoder and its dimension from the record a build() left, without torch; None
        when there is no record or its graph no longer reproduces torch's vectors."""
        record_path = cache_dir / f"{name}{RECORD_SUFFIX}"
        try:
            import onnxruntime
            import tokenizers

            record = json.loads(record_path.read_text())
            tokenizer = tokenizers.Tokenizer.from_file(str(cache_dir / record["tokenizer"]))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads or 0
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(
                str(cache_dir / record["graph"]), options, providers=["CPUExecutionProvider"]
            )
            encoder = cls(session, tokenizer, record["max_length"], pad=tuple(record["pad"]))
            expected = np.array(record["probes"], dtype=np.float32)
            actual = np.vstack([encoder.encode_one(text) for text in PROBES])
            together = encoder.encode_few(list(PROBES))
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged record or graph: built again, with torch
            logger.warning("Recorded ONNX graph of %s unusable (%s); loading torch", name, exc)
            return None
        if max(np.abs(expected - actual).max(), np.abs(expected - together).max()) > TOLERANCE:
            logger.warning("Recorded ONNX graph of %s no longer reproduces torch; loading torch", name)
            return None
        return encoder, int(expected.shape[1])

    def encode_one(self, text: str) -> np.ndarray:
        """A (1, dimension) float32 array, L2-normalised."""
        return self.encode_few([text])

    def encode_few(self, texts: list[str]) -> np.ndarray:
        """A (len(texts), dimension) float32 array, L2-normalised: one call, padded to the longest
        text (the graph's mean pooling ignores the padding)."""
        if callable(self._tokenizer):
            tokens = self._tokenizer(
                texts, return_tensors="np", truncation=True, padding=True, max_length=self._max_length
            )
        else:
            encodings = self._tokenizer.encode_batch(texts)
            tokens = {
                "input_ids": np.array([item.ids for item in encodings]),
                "attention_mask": np.array([item.attention_mask for item in encodings]),
                "token_type_ids": np.array([item.type_ids for item in encodings]),
            }
        feed = {key: tokens[key].astype(np.int64) for key in self._inputs if key in tokens}
        return np.ascontiguousarray(self._session.run(None, feed)[0], dtype=np.float32)


def _record(model: Any, cache_dir: Path, name: str, graph: Path, probes: np.ndarray) -> None:
    """Save the tokenizer and the record that load_recorded() reads, each written whole."""
    backend = getattr(model.tokenizer, "backend_tokenizer", None)
    if backend is None:
        return  # a slow (Python) tokenizer has no torch-free copy: this model keeps torch
    tokenizer = f"{graph.stem}.tokenizer.json"
    record = {
        "graph": graph.name,
        "tokenizer": tokenizer,
        "max_length": model.max_seq_length,
        "pad": [model.tokenizer.pad_token_id, model.tokenizer.pad_token],
        "probes": probes.tolist(),
    }
    _write_whole(cache_dir / tokenizer, backend.to_str().encode())
    _write_whole(cache_dir / f"{name}{RECORD_SUFFIX}", json.dumps(record).encode())


def _write_whole(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


def exported_graph(model: Any, cache_dir: Path, name: str) -> Path:
    """The model's graph on disk (transformer + mean pooling + normalisation), exported once.
    Written to a temporary file and renamed, so concurrent processes never read half a file."""
    import torch

    fingerprint = hashlib.sha256(str(model[0]).encode() + name.encode()).hexdigest()[:12]
    path = cache_dir / f"{name}-{fingerprint}.onnx"
    if path.exists():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    transformer = model[0].auto_model
    sample = model.tokenizer(["hello world"], return_tensors="pt")
    names = [key for key in ("input_ids", "attention_mask", "token_type_ids") if key in sample]

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            given = dict(zip(names, inputs, strict=True))
            hidden = self.transformer(**given).last_hidden_state
            mask = given["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=1)

    handle, temporary = tempfile.mkstemp(dir=cache_dir, suffix=".partial")
    os.close(handle)
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on tracing are not for users
            torch.onnx.export(
                MeanPooled().eval(),
                tuple(sample[key] for key in names),
                temporary,
                input_names=names,
                output_names=["embedding"],
                dynamic_axes={**{key: {0: "batch", 1: "tokens"} for key in names}, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return path
