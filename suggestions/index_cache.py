"""One machine's copy of index versions kept in remote storage (S3 and the like).

The cache is a directory laid out like the store itself (``<version>/<file>``). A file is fetched
at most once per machine: under an exclusive lock on the file's name, into a temporary file
beside it, checked against the SHA-256 that the version's meta.json gives, then renamed into
place, so every process on the machine reads (and maps) one complete, checked copy. A copy that
no longer matches its checksum is fetched again; a remote file that does not match is refused.
Versions are never rewritten, so a copy never goes stale; prune() removes old ones.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from django.core.files.storage import Storage

CHUNK = 8 * 1024 * 1024
# Versions kept in a cache besides the one just read: a process may still serve an older one.
KEEP_CACHED = 3


class ChecksumMismatch(Exception):
    """A file fetched from the remote storage is not the one its meta.json describes."""


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


class IndexCache:
    """Local copies of remote index files in ``directory``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def path(self, version: str, name: str) -> Path:
        return self.directory / version / name

    def fetched(self, storage: Storage, version: str, name: str, sha256: str | None) -> Path:
        """The local copy of ``<version>/<name>`` from ``storage``, fetched if it is missing or
        does not match ``sha256`` (None: any copy is taken as it is). Raises FileNotFoundError
        when the remote file is missing and ChecksumMismatch when it does not match."""
        path = self.path(version, name)
        if _matches(path, sha256):
            return path
        with self._locked(version, name):
            # Another process may have fetched it while this one waited for the lock.
            if _matches(path, sha256):
                return path
            self._download(storage, f"{version}/{name}", path, sha256)
        return path

    def put(self, version: str, name: str, data: bytes) -> None:
        """Keep ``data`` as the local copy of ``<version>/<name>`` (the writer's own files)."""
        path = self.path(version, name)
        with self._locked(version, name):
            _write_atomically(path, lambda fh: fh.write(data))

    def prune(self, *, keep: str) -> list[str]:
        """Remove the cached versions older than the KEEP_CACHED newest, ``keep`` aside; return
        them. A process that still maps a removed file keeps reading it until it lets go."""
        try:
            names = sorted(
                entry.name for entry in self.directory.iterdir() if entry.is_dir() and entry.name[0] != "."
            )
        except FileNotFoundError:
            return []
        doomed = [name for name in names[:-KEEP_CACHED] if name != keep]
        for name in doomed:
            shutil.rmtree(self.directory / name, ignore_errors=True)
        return doomed

    @contextlib.contextmanager
    def _locked(self, version: str, name: str) -> Iterator[None]:
        folder = self.directory / version
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f".{name}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _download(self, storage: Storage, remote: str, path: Path, sha256: str | None) -> None:
        digest = hashlib.sha256()

        def copy(fh: BinaryIO) -> None:
            with storage.open(remote, "rb") as source:
                for block in iter(lambda: source.read(CHUNK), b""):
                    digest.update(block)
                    fh.write(block)
            if sha256 is not None and digest.hexdigest() != sha256:
                raise ChecksumMismatch(f"{remote} does not match its checksum")

        _write_atomically(path, copy)


def _matches(path: Path, sha256: str | None) -> bool:
    try:
        if sha256 is None:
            return path.is_file()
        return file_sha256(path) == sha256
    except FileNotFoundError:
        return False


def _write_atomically(path: Path, write: Callable[[BinaryIO], Any]) -> None:
    """Write through ``write(fh)`` to a temporary file beside ``path``, then rename it over
    ``path``: a reader sees the old file or the whole new one, never part of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
