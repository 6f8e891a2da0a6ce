"""Index versions in a remote storage, read through each machine's local cache: fetched once per
machine, checked against meta.json's checksums, written whole, and mapped rather than copied."""

from __future__ import annotations

import threading
import time
from collections import Counter

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage

from suggestions.index_cache import KEEP_CACHED, file_sha256
from suggestions.index_store import STORAGE_ALIAS, IndexStore, IndexUnavailable
from suggestions.vector_index import VectorIndex

MODEL = "all-MiniLM-L6-v2"
DIM = 16


class RemoteStorage(InMemoryStorage):
    """An in-memory stand-in for S3 that counts the files opened, and can be slow to answer."""

    def __init__(self, *args, delay: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.opened: Counter[str] = Counter()
        self.delay = delay
        self._count_lock = threading.Lock()

    def _open(self, name, mode="rb"):
        with self._count_lock:
            self.opened[name] += 1
        time.sleep(self.delay)
        return super()._open(name, mode)


def vectors(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make_index(n: int = 30, *, ann_min_vectors: int | None = None) -> VectorIndex:
    index = VectorIndex(DIM, ann_min_vectors=ann_min_vectors)
    index.index(vectors(n), np.arange(1, n + 1))
    return index


def written(remote, tmp_path, index=None, name="v1") -> tuple[str, dict]:
    """A version written by the worker's machine (its own cache in tmp_path / "worker")."""
    writer = IndexStore(remote, cache_dir=tmp_path / "worker")
    meta = writer.write(
        name, index or make_index(), {"model": MODEL, "library_digest": "abc"}, {"head.npz": b"head"}
    )
    remote.opened.clear()
    return name, meta


def test_a_version_only_in_remote_storage_is_fetched_once_per_machine(tmp_path):
    remote = RemoteStorage()
    version, _ = written(remote, tmp_path)
    web = tmp_path / "web"
    first, meta = IndexStore(remote, cache_dir=web).read(version, expected_model=MODEL)
    # Another process on the same machine: a store of its own over the same directory.
    second, _ = IndexStore(remote, cache_dir=web).read(version, expected_model=MODEL)
    head = IndexStore(remote, cache_dir=web).read_attachment(version, "head.npz", meta)
    IndexStore(remote, cache_dir=web).read_attachment(version, "head.npz", meta)

    assert remote.opened == {f"{version}/index.faiss": 1, f"{version}/meta.json": 1, f"{version}/head.npz": 1}
    assert head == b"head"
    assert first.mapped and second.mapped
    query = vectors(2, seed=5)
    for got, want in zip(second.search(query, 5), make_index().search(query, 5), strict=True):
        np.testing.assert_array_equal(got, want)
    assert file_sha256(web / version / "index.faiss") == meta["index_sha256"]


def test_the_writer_keeps_its_own_files_and_reads_them_without_fetching(tmp_path):
    remote = RemoteStorage()
    version, _ = written(remote, tmp_path)
    index, meta = IndexStore(remote, cache_dir=tmp_path / "worker").read(version, expected_model=MODEL)
    assert remote.opened == {}
    assert index.count() == meta["count"] == 30


def test_a_remote_file_that_does_not_match_its_checksum_is_refused_and_not_kept(tmp_path):
    remote = RemoteStorage()
    version, _ = written(remote, tmp_path)
    remote.delete(f"{version}/index.faiss")
    remote.save(f"{version}/index.faiss", ContentFile(make_index(29).to_bytes()))
    web = tmp_path / "web"

    with pytest.raises(IndexUnavailable, match=r"index\.faiss does not match its checksum"):
        IndexStore(remote, cache_dir=web).read(version, expected_model=MODEL)

    left = sorted(path.name for path in (web / version).iterdir())
    assert left == [".index.faiss.lock", ".meta.json.lock", "meta.json"]  # no copy, whole or partial


def test_a_damaged_attachment_in_remote_storage_is_refused(tmp_path):
    remote = RemoteStorage()
    version, meta = written(remote, tmp_path)
    remote.delete(f"{version}/head.npz")
    remote.save(f"{version}/head.npz", ContentFile(b"tampered"))
    with pytest.raises(IndexUnavailable, match=r"head\.npz does not match its checksum"):
        IndexStore(remote, cache_dir=tmp_path / "web").read_attachment(version, "head.npz", meta)


def test_a_damaged_local_copy_is_fetched_again(tmp_path):
    remote = RemoteStorage()
    version, _ = written(remote, tmp_path)
    web = tmp_path / "web"
    IndexStore(remote, cache_dir=web).read(version, expected_model=MODEL)
    # The disk damages the copy: replaced, as nothing may write into a file a process maps.
    damaged = web / version / "index.faiss.damaged"
    damaged.write_bytes(b"\0" * 100)
    damaged.replace(web / version / "index.faiss")

    index, meta = IndexStore(remote, cache_dir=web).read(version, expected_model=MODEL)

    assert remote.opened[f"{version}/index.faiss"] == 2
    assert index.count() == 30
    assert file_sha256(web / version / "index.faiss") == meta["index_sha256"]


def test_a_version_missing_from_remote_storage_is_unavailable(tmp_path):
    with pytest.raises(IndexUnavailable, match=r"no meta\.json"):
        IndexStore(RemoteStorage(), cache_dir=tmp_path / "web").read("v9", expected_model=MODEL)


def test_processes_reading_a_new_version_at_once_fetch_it_once_and_all_get_it_whole(tmp_path):
    remote = RemoteStorage(delay=0.05)  # a slow store: every reader arrives while it downloads
    version, _ = written(remote, tmp_path)
    web = tmp_path / "web"
    start = threading.Barrier(8)
    counts: list[int] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            start.wait()
            index, _ = IndexStore(remote, cache_dir=web).read(version, expected_model=MODEL)
            counts.append(index.count())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert counts == [30] * 8
    assert remote.opened[f"{version}/index.faiss"] == 1
    assert not list((web / version).glob("*.partial"))


def test_a_mapped_index_can_still_be_changed_and_its_file_stays_as_saved(tmp_path):
    remote = RemoteStorage()
    for name, index in (("exact", make_index()), ("ivf", make_index(400, ann_min_vectors=100))):
        version, meta = written(remote, tmp_path, index, name=name)
        read, _ = IndexStore(remote, cache_dir=tmp_path / "web").read(version, expected_model=MODEL)
        assert read.mapped and read.kind == index.kind

        read.delete([1, 2])
        read.append(vectors(1, seed=9), [10_000])

        assert not read.mapped
        assert read.count() == index.count() - 1
        assert 10_000 in read.ids() and 1 not in read.ids()
        assert file_sha256(tmp_path / "web" / version / "index.faiss") == meta["index_sha256"]


def test_a_cache_keeps_the_newest_versions_and_the_one_just_read(tmp_path):
    remote = RemoteStorage()
    names = [f"v{number}" for number in range(KEEP_CACHED + 2)]
    for name in names:
        written(remote, tmp_path, name=name)
    web = tmp_path / "web"
    for name in [*names[1:], names[0]]:
        IndexStore(remote, cache_dir=web).read(name, expected_model=MODEL)
    kept = sorted(path.name for path in web.iterdir())
    assert kept == sorted([names[0], *names[-KEEP_CACHED:]])


def test_the_configured_remote_storage_is_cached_in_the_index_directory(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        STORAGE_ALIAS: {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    store = IndexStore()
    version = store.new_version()
    store.write(version, make_index(), {"model": MODEL, "library_digest": "abc"})

    assert isinstance(store.storage, InMemoryStorage)
    assert store.storage.exists(f"{version}/meta.json")
    assert (settings.CARELINE_INDEX_DIR / version / "index.faiss").is_file()
    assert store.read(version, expected_model=MODEL)[0].mapped


def test_the_storage_setting_names_a_bucket_and_refuses_nonsense(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from config.env import envstorage

    monkeypatch.setenv("CARELINE_INDEX_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("CARELINE_INDEX_STORAGE", "s3://careline/prod/index/")
    entry = envstorage("CARELINE_INDEX_STORAGE", "")
    assert entry is not None
    assert entry["BACKEND"] == "storages.backends.s3.S3Storage"
    assert entry["OPTIONS"]["bucket_name"] == "careline"
    assert entry["OPTIONS"]["location"] == "prod/index"
    assert entry["OPTIONS"]["endpoint_url"] == "http://127.0.0.1:9000"
    monkeypatch.setenv("CARELINE_INDEX_STORAGE", "")
    assert envstorage("CARELINE_INDEX_STORAGE", "") is None
    for nonsense in ("careline", "s3://", "ftp://host/dir"):
        monkeypatch.setenv("CARELINE_INDEX_STORAGE", nonsense)
        with pytest.raises(ImproperlyConfigured, match="CARELINE_INDEX_STORAGE"):
            envstorage("CARELINE_INDEX_STORAGE", "")


class UnreachableStorage(InMemoryStorage):
    """A remote store that has gone away: every call fails as a client library's would."""

    def _open(self, name, mode="rb"):
        raise ConnectionError("Could not connect to the endpoint URL")

    def listdir(self, path):
        raise ConnectionError("Could not connect to the endpoint URL")


def test_an_unreachable_remote_storage_makes_versions_unavailable_not_an_error(tmp_path):
    store = IndexStore(UnreachableStorage(), cache_dir=tmp_path / "web")
    with pytest.raises(IndexUnavailable, match="cannot fetch meta"):
        store.read("v1", expected_model=MODEL)
    with pytest.raises(IndexUnavailable, match="cannot list the index versions"):
        store.versions()
