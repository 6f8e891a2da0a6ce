"""Saved index versions, kept through Django's storage API (local disk, S3, ... alike).

A version is a directory ``<version>/`` holding ``index.faiss``, ``meta.json`` and any attachments
the caller saves with it (such as the ranking head fitted on its vectors). Object stores
cannot rename a directory, so instead of writing to a temporary directory and renaming it,
``meta.json`` is written last and its presence marks a complete version: readers never load a
half-written one. Versions are never overwritten. A write that fails (a full disk) removes what
it wrote; one that dies with its process leaves an incomplete directory, which prune() removes
once it is WRITE_GRACE old.

Where the files live: a FileSystemStorage at settings.CARELINE_INDEX_DIR by default, or the
storage of the STORAGES alias "careline-index" when settings name one (CARELINE_INDEX_STORAGE:
S3 and the like, shared by a fleet). Then CARELINE_INDEX_DIR is this machine's cache of it
(suggestions.index_cache). Either way an index is read by mapping a local file, so the
processes of one machine share one copy of its vectors; a storage with neither local files nor
a cache (InMemoryStorage) is read into memory.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages

from suggestions.index_cache import ChecksumMismatch, IndexCache, file_sha256
from suggestions.vector_index import VectorIndex

INDEX_FILE = "index.faiss"
META_FILE = "meta.json"
# The STORAGES alias of a remote store of index versions.
STORAGE_ALIAS = "careline-index"
_VERSION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ATTACHMENT_NAME = _VERSION_NAME  # a plain file name, by the same rule
_VERSION_TIME_FORMAT = "%Y%m%dT%H%M%S.%fZ"
# Longer than any write of an index's two files takes.
WRITE_GRACE = timedelta(minutes=15)


class IndexUnavailable(Exception):
    """The requested index version is missing, incomplete or unreadable."""


class IndexModelMismatch(IndexUnavailable):
    """The index was built with another embedding model than the one in use."""


class IndexStore:
    """Writes, reads, lists and prunes index versions in a Django Storage."""

    def __init__(self, storage: Storage | None = None, *, cache_dir: str | Path | None = None) -> None:
        """Use ``storage`` (with a local cache in ``cache_dir``, if given), or by default the
        configured one: the "careline-index" storage cached in settings.CARELINE_INDEX_DIR, or
        without it a FileSystemStorage there."""
        self._storage = storage
        self._cache_dir = cache_dir

    @property
    def storage(self) -> Storage:
        """The storage in use; the default one follows the current settings."""
        if self._storage is not None:
            return self._storage
        if STORAGE_ALIAS in settings.STORAGES:
            return storages[STORAGE_ALIAS]
        # Built on each access (it is cheap) so settings overrides in tests always apply.
        return FileSystemStorage(location=settings.CARELINE_INDEX_DIR)

    @property
    def cache(self) -> IndexCache | None:
        """This machine's copies of a remote storage's files; None when files are read in place."""
        if self._cache_dir is not None:
            return IndexCache(self._cache_dir)
        if self._storage is None and STORAGE_ALIAS in settings.STORAGES:
            return IndexCache(settings.CARELINE_INDEX_DIR)
        return None

    @staticmethod
    def new_version() -> str:
        """Return a new version name: UTC time to the microsecond plus a random suffix."""
        # Microseconds keep versions made within one second in order.
        return f"{datetime.now(UTC).strftime(_VERSION_TIME_FORMAT)}-{secrets.token_hex(3)}"

    def write(
        self,
        version: str,
        index: VectorIndex,
        meta: dict[str, Any],
        attachments: Mapping[str, bytes] | None = None,
    ) -> dict[str, Any]:
        """Save ``index`` (and ``attachments``: file name -> bytes) as ``version`` and return the
        meta written; refuses an existing version.

        ``meta`` must name the ``model`` and ``library_digest``; dimension, count, version,
        built_at, index_sha256 and the attachments' checksums are filled in, and any other keys
        are kept as given.
        """
        _check_version_name(version)
        attachments = dict(attachments or {})
        for name in attachments:
            if not _ATTACHMENT_NAME.match(name) or name in (INDEX_FILE, META_FILE):
                raise ValueError(f"invalid attachment name {name!r}")
        storage = self.storage
        data = index.to_bytes()
        full_meta = _complete_meta(version, index, data, meta)
        full_meta["attachments"] = {
            name: hashlib.sha256(body).hexdigest() for name, body in attachments.items()
        }
        meta_bytes = json.dumps(full_meta, indent=2, sort_keys=True).encode()
        index_name, meta_name = f"{version}/{INDEX_FILE}", f"{version}/{META_FILE}"
        if storage.exists(index_name) or storage.exists(meta_name):
            raise FileExistsError(f"index version {version} already exists")
        written: list[str] = []
        try:
            for name, body in [(INDEX_FILE, data), *attachments.items(), (META_FILE, meta_bytes)]:
                written.append(f"{version}/{name}")
                _save_new(storage, written[-1], body)
        except FileExistsError:
            # Another writer's file: leave it, and its directory, alone.
            _delete_all_quietly(storage, written[:-1])
            raise
        except BaseException:
            # A failed save (a full disk) may leave part of its file behind.
            _delete_all_quietly(storage, written)
            with contextlib.suppress(OSError):
                _delete_quietly(storage, version, directory=True)
            raise
        cache = self.cache
        if cache is not None:
            # The writer reads its own version back next (a sync starts from it): no download.
            for name, body in [(INDEX_FILE, data), *attachments.items(), (META_FILE, meta_bytes)]:
                cache.put(version, name, body)
        return full_meta

    def read_attachment(self, version: str, name: str, meta: dict[str, Any]) -> bytes | None:
        """The attachment ``name`` of a version whose meta is ``meta``; None if it was saved
        without one. Raises IndexUnavailable when it is missing or does not match its checksum."""
        expected = (meta.get("attachments") or {}).get(name)
        if expected is None:
            return None
        path = self._file(version, name, expected)
        if path is None:
            return self._checked_bytes(version, name, expected)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise IndexUnavailable(f"index version {version}: cannot read {name} ({exc})") from None

    def read(self, version: str, *, expected_model: str) -> tuple[VectorIndex, dict[str, Any]]:
        """Load ``version``; raises IndexUnavailable, or IndexModelMismatch for another model."""
        if not _VERSION_NAME.match(version or ""):
            raise IndexUnavailable(f"no index version named {version!r}")
        meta = self._read_meta(version)
        if meta["model"] != expected_model:
            raise IndexModelMismatch(
                f"index version {version} was built with model {meta['model']!r}, "
                f"but the embedder in use is {expected_model!r}; rebuild the index"
            )
        expected_digest = meta.get("index_sha256") or None
        path = self._file(version, INDEX_FILE, expected_digest)
        try:
            if path is None:
                index = VectorIndex.from_bytes(self._checked_bytes(version, INDEX_FILE, expected_digest))
            else:
                index = VectorIndex.from_file(path)
        except ValueError as exc:
            raise IndexUnavailable(f"index version {version}: {exc}") from None
        if index.count() != meta["count"] or index.dimension != meta["dimension"]:
            raise IndexUnavailable(
                f"index version {version} holds {index.count()} vectors of dimension {index.dimension}, "
                f"meta.json says {meta['count']} of dimension {meta['dimension']}"
            )
        cache = self.cache
        if cache is not None:
            cache.prune(keep=version)
        return index, meta

    def read_meta(self, version: str) -> dict[str, Any]:
        """The meta.json of ``version``; raises IndexUnavailable."""
        if not _VERSION_NAME.match(version or ""):
            raise IndexUnavailable(f"no index version named {version!r}")
        return self._read_meta(version)

    def versions(self) -> list[str]:
        """Return the complete versions (those with meta.json), oldest first; raises
        IndexUnavailable when the storage cannot be listed (a remote one unreachable)."""
        storage = self.storage
        try:
            return [d for d in _version_dirs(storage) if storage.exists(f"{d}/{META_FILE}")]
        except Exception as exc:  # the storage's own errors: OSError, botocore's, ...
            raise IndexUnavailable(f"cannot list the index versions ({exc})") from None

    def delete_version(self, version: str) -> None:
        """Delete ``version`` and everything in it; a missing version is ignored."""
        _check_version_name(version)
        storage = self.storage
        # meta.json first: the version stops counting as complete before anything else goes.
        _delete_quietly(storage, f"{version}/{META_FILE}")
        _delete_tree(storage, version)

    def prune(self, keep: list[str]) -> list[str]:
        """Delete every version directory except ``keep`` and return the ones deleted.

        An incomplete version (no meta.json) named by new_version() less than WRITE_GRACE ago
        is spared: another process may be writing it right now.
        """
        storage = self.storage
        kept = set(keep)
        spare_after = datetime.now(UTC) - WRITE_GRACE
        doomed = []
        for version in _version_dirs(storage):
            if version in kept:
                continue
            created = _version_time(version)
            if created and created > spare_after and not storage.exists(f"{version}/{META_FILE}"):
                continue
            self.delete_version(version)
            doomed.append(version)
        return doomed

    def _local_file(self, version: str, name: str, sha256: str | None) -> Path | None:
        """A local copy of ``<version>/<name>`` that matches ``sha256`` (None: unchecked), from
        the cache or the storage's own directory; None when the storage has no local files."""
        cache = self.cache
        if cache is None:
            storage = self.storage
            if not isinstance(storage, FileSystemStorage):
                return None
            path = Path(storage.path(f"{version}/{name}"))
            if not path.is_file():
                raise FileNotFoundError(f"index version {version} has no {name}")
            if sha256 is not None and file_sha256(path) != sha256:
                raise IndexUnavailable(f"index version {version}: {name} does not match its checksum")
            return path
        try:
            return cache.fetched(self.storage, version, name, sha256)
        except FileNotFoundError:
            raise
        except ChecksumMismatch:
            raise IndexUnavailable(f"index version {version}: {name} does not match its checksum") from None
        except Exception as exc:  # the remote store's own errors (unreachable, refused) and disk errors
            raise IndexUnavailable(f"index version {version}: cannot fetch {name} ({exc})") from None

    def _file(self, version: str, name: str, sha256: str | None) -> Path | None:
        """_local_file(), a missing file reported as IndexUnavailable."""
        try:
            return self._local_file(version, name, sha256)
        except FileNotFoundError:
            raise IndexUnavailable(f"index version {version} has no {name}") from None

    def _checked_bytes(self, version: str, name: str, sha256: str | None) -> bytes:
        try:
            with self.storage.open(f"{version}/{name}", "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise IndexUnavailable(f"index version {version} has no {name}") from None
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
            raise IndexUnavailable(f"index version {version}: {name} does not match its checksum")
        return data

    def _read_meta(self, version: str) -> dict[str, Any]:
        try:
            path = self._local_file(version, META_FILE, None)
            if path is None:
                with self.storage.open(f"{version}/{META_FILE}", "rb") as fh:
                    raw = fh.read()
            else:
                raw = path.read_bytes()
            meta = json.loads(raw)
        except FileNotFoundError:
            raise IndexUnavailable(
                f"index version {version} is missing or incomplete (no meta.json)"
            ) from None
        except ValueError as exc:  # JSON or UTF-8 errors
            raise IndexUnavailable(f"index version {version}: unreadable meta.json ({exc})") from None
        if not isinstance(meta, dict):
            raise IndexUnavailable(f"index version {version}: meta.json is not an object")
        for key, kind in (("model", str), ("dimension", int), ("count", int)):
            if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
                raise IndexUnavailable(f"index version {version}: meta.json lacks a valid {key!r}")
        return meta


def _version_time(version: str) -> datetime | None:
    """When new_version() made ``version``; None for names it did not make."""
    try:
        return datetime.strptime(version.split("-", 1)[0], _VERSION_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _check_version_name(version: str) -> None:
    if not isinstance(version, str) or not _VERSION_NAME.match(version):
        raise ValueError(f"invalid index version name {version!r}")


def _complete_meta(version: str, index: VectorIndex, data: bytes, meta: dict[str, Any]) -> dict[str, Any]:
    for key in ("model", "library_digest"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            raise ValueError(f"meta must give {key!r} as a non-empty string")
    derived = {
        "version": version,
        "dimension": index.dimension,
        "count": index.count(),
        "index_sha256": hashlib.sha256(data).hexdigest(),
    }
    for key, value in derived.items():
        if key in meta and meta[key] != value:
            raise ValueError(f"meta gives {key}={meta[key]!r}, but the index has {value!r}")
    full = {**meta, **derived}
    full.setdefault("built_at", datetime.now(UTC).isoformat(timespec="seconds"))
    try:
        json.dumps(full)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"meta is not JSON-serialisable: {exc}") from None
    return full


def _save_new(storage: Storage, name: str, data: bytes) -> None:
    saved = storage.save(name, ContentFile(data))
    if saved != name:
        # The storage picked another name because ``name`` appeared meanwhile: undo and refuse.
        _delete_quietly(storage, saved)
        raise FileExistsError(f"{name} was created concurrently by another writer")


def _delete_all_quietly(storage: Storage, names: list[str]) -> None:
    """Best effort, so that the error that made the caller clean up is the one reported."""
    for name in names:
        with contextlib.suppress(OSError):
            _delete_quietly(storage, name)


def _version_dirs(storage: Storage) -> list[str]:
    """Top-level directories that may be versions, sorted; foreign ones (lost+found) are skipped."""
    try:
        dirs, _files = storage.listdir("")
    except FileNotFoundError:  # nothing written yet
        return []
    return sorted(d for d in dirs if _VERSION_NAME.match(d))


def _delete_tree(storage: Storage, path: str) -> None:
    try:
        dirs, files = storage.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        _delete_quietly(storage, f"{path}/{name}")
    for name in dirs:
        _delete_tree(storage, f"{path}/{name}")
    # Removes the now empty directory on disk; object stores have no directories to remove.
    _delete_quietly(storage, path, directory=True)


def _delete_quietly(storage: Storage, name: str, *, directory: bool = False) -> None:
    try:
        storage.delete(name)
    except (FileNotFoundError, NotADirectoryError):
        pass  # deleted meanwhile by someone else
    except OSError as exc:
        # A directory that is not empty after all is left for the next prune.
        if not (directory and exc.errno == errno.ENOTEMPTY):
            raise
