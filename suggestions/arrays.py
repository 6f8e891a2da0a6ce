"""Named numpy arrays saved as one file (an .npz archive) beside an index version."""

from __future__ import annotations

import io
import zipfile

import numpy as np


def arrays_to_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def arrays_from_bytes(data: bytes, names: tuple[str, ...], *, what: str) -> list[np.ndarray]:
    """The arrays ``names`` saved in ``data``, in that order; raises ValueError naming ``what``
    when ``data`` is not such an archive."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            return [arrays[name] for name in names]
    # Empty, truncated or non-archive bytes fail in np.load and zipfile with these as well.
    except (OSError, EOFError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"unreadable {what}: {exc}") from None
