"""Test doubles shared across the test suite."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+")


class FakeEmbedder:
    """A deterministic stand-in for the real embedder: no model, microseconds per text.

    Each text becomes a hashed bag of its lowercase words (weight 1) and their character
    trigrams (weight 0.5), signed and L2-normalised. So identical texts score 1.0, texts sharing
    words score clearly higher than unrelated ones (which score near 0), and case and
    punctuation do not matter, which lets tests reason about nearest neighbours.
    """

    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension
        self.name = f"fake-hashing-{dimension}"

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single string")
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for word in words:
                self._add(vectors[row], f"w:{word}", 1.0)
                padded = f"<{word}>"
                for start in range(len(padded) - 2):
                    self._add(vectors[row], f"t:{padded[start : start + 3]}", 0.5)
            if not words:  # still a unit vector, shared by every text without words
                self._add(vectors[row], "empty", 1.0)
            vectors[row] /= np.linalg.norm(vectors[row]) or 1.0
        return vectors

    def _add(self, vector: np.ndarray, feature: str, weight: float) -> None:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        sign = 1.0 if value & 1 else -1.0
        vector[(value >> 1) % self.dimension] += sign * weight
