"""What each vector of a saved version embeds: its id, the issue it is filed under and a hash of
its text, saved beside the index as ENTRIES_FILE. Syncs and patches compare these hashes with the
library's to encode only the texts that changed; serving picks a brand's vectors by their issue."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from suggestions.arrays import arrays_from_bytes, arrays_to_bytes

ENTRIES_FILE = "entries.npz"


def text_hash(text: str) -> str:
    """A short hash of the text a vector embeds (16 hex digits: a uint64)."""
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class VectorEntries:
    ids: np.ndarray  # int64
    issues: np.ndarray  # int64
    hashes: np.ndarray  # uint64, text_hash read as a number

    @classmethod
    def of(cls, ids: Iterable[int], issues: Mapping[int, int], hashes: Mapping[int, str]) -> VectorEntries:
        order = np.fromiter(ids, dtype=np.int64)
        return cls(
            order,
            np.array([issues[int(vector)] for vector in order], dtype=np.int64),
            np.array([int(hashes[int(vector)], 16) for vector in order], dtype=np.uint64),
        )

    def hashes_by_id(self) -> dict[int, str]:
        return {
            int(v): f"{int(h):016x}" for v, h in zip(self.ids.tolist(), self.hashes.tolist(), strict=True)
        }

    def filed(self, *, issues: Iterable[int], ids: Iterable[int] = ()) -> dict[int, tuple[int, str]]:
        """id -> (issue, text hash) of the vectors filed under ``issues``, and of ``ids``."""
        chosen = np.isin(self.issues, np.fromiter(issues, dtype=np.int64)) | np.isin(
            self.ids, np.fromiter(ids, dtype=np.int64)
        )
        return {
            int(vector): (int(issue), f"{int(digest):016x}")
            for vector, issue, digest in zip(
                self.ids[chosen].tolist(),
                self.issues[chosen].tolist(),
                self.hashes[chosen].tolist(),
                strict=True,
            )
        }

    def of_issues(self, issues: Iterable[int]) -> np.ndarray:
        """The ids of the vectors filed under ``issues``."""
        return self.ids[np.isin(self.issues, np.fromiter(issues, dtype=np.int64))]

    def to_bytes(self) -> bytes:
        return arrays_to_bytes(ids=self.ids, issues=self.issues, hashes=self.hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> VectorEntries:
        """Raises ValueError when ``data`` is not saved entries."""
        entries = cls(*arrays_from_bytes(data, ("ids", "issues", "hashes"), what="vector entries"))
        if not (entries.ids.shape == entries.issues.shape == entries.hashes.shape) or entries.ids.ndim != 1:
            raise ValueError("vector entries arrays do not agree in shape")
        return entries
