from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, InMemoryStorage

from suggestions import index_store as index_store_module
from suggestions.index_store import IndexModelMismatch, IndexStore, IndexUnavailable
from suggestions.vector_index import VectorIndex

MODEL = "all-MiniLM-L6-v2"
DIM = 16


def make_index(n: int = 20, seed: int = 0) -> VectorIndex:
    vectors = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(DIM)
    index.index(vectors, np.arange(1, n + 1))
    return index


def base_meta(**extra):
    return {"model": MODEL, "library_digest": "abc123", **extra}


@pytest.fixture(params=["filesystem", "memory"])
def storage(request, tmp_path):
    if request.param == "filesystem":
        return FileSystemStorage(location=tmp_path / "store")
    return InMemoryStorage()


@pytest.fixture
def store(storage) -> IndexStore:
    return IndexStore(storage)


def replace_file(storage, name: str, data: bytes) -> None:
    storage.delete(name)
    assert storage.save(name, ContentFile(data)) == name


def test_written_version_reads_back_with_identical_search_results(store):
    index = make_index()
    version = store.new_version()
    written = store.write(version, index, base_meta(kind="full"))
    restored, meta = store.read(version, expected_model=MODEL)
    queries = np.random.default_rng(2).normal(size=(3, DIM)).astype(np.float32)
    for got, want in zip(restored.search(queries, 5), index.search(queries, 5), strict=True):
        np.testing.assert_array_equal(got, want)
    assert meta == written
    assert meta["model"] == MODEL
    assert meta["library_digest"] == "abc123"
    assert meta["kind"] == "full"
    assert (meta["dimension"], meta["count"], meta["version"]) == (DIM, 20, version)
    assert datetime.fromisoformat(meta["built_at"]).tzinfo is not None


def test_callers_may_state_derived_fields_and_their_own_build_time(store):
    built_at = "2026-01-02T03:04:05+00:00"
    meta = store.write("v1", make_index(), base_meta(dimension=DIM, count=20, built_at=built_at))
    assert meta["built_at"] == built_at


def test_meta_that_contradicts_the_index_is_refused_before_anything_is_written(store):
    with pytest.raises(ValueError, match="count"):
        store.write("v1", make_index(), base_meta(count=3))
    with pytest.raises(ValueError, match="model"):
        store.write("v1", make_index(), {"library_digest": "abc"})
    with pytest.raises(ValueError, match="JSON"):
        store.write("v1", make_index(), base_meta(when=datetime.now(UTC)))
    assert not store.storage.exists("v1/index.faiss")
    assert store.versions() == []


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "v 1"])
def test_unsafe_version_names_are_refused(store, name):
    with pytest.raises(ValueError, match="version name"):
        store.write(name, make_index(), base_meta())
    with pytest.raises(IndexUnavailable):
        store.read(name, expected_model=MODEL)


def test_an_existing_version_is_never_overwritten(store):
    store.write("v1", make_index(seed=0), base_meta())
    with pytest.raises(FileExistsError):
        store.write("v1", make_index(n=5, seed=1), base_meta())
    assert store.read("v1", expected_model=MODEL)[0].count() == 20


def racing(storage_class):
    """A storage whose next ``lies`` exists() calls answer False, as if another writer created
    the files right after IndexStore checked."""

    class Racing(storage_class):
        lies = 0

        def exists(self, name):
            if self.lies:
                self.lies -= 1
                return False
            return super().exists(name)

    return Racing


@pytest.mark.parametrize("storage_class", [FileSystemStorage, InMemoryStorage])
def test_a_version_created_concurrently_is_detected_and_left_alone(storage_class, tmp_path):
    storage = racing(storage_class)(location=tmp_path / "store")
    store = IndexStore(storage)
    store.write("v1", make_index(seed=0), base_meta())
    storage.lies = 2  # IndexStore's own checks for index.faiss and meta.json
    with pytest.raises(FileExistsError, match="concurrently"):
        store.write("v1", make_index(n=5, seed=1), base_meta())
    assert sorted(storage.listdir("v1")[1]) == ["index.faiss", "meta.json"]  # no renamed copy left
    assert store.read("v1", expected_model=MODEL)[0].count() == 20


def test_an_index_built_with_another_model_is_refused_naming_both(store):
    store.write("v1", make_index(), base_meta())
    with pytest.raises(IndexModelMismatch, match=r"'all-MiniLM-L6-v2'.*'fake-hashing-64'") as caught:
        store.read("v1", expected_model="fake-hashing-64")
    assert isinstance(caught.value, IndexUnavailable)


def test_a_missing_version_is_unavailable(store):
    with pytest.raises(IndexUnavailable, match="missing"):
        store.read("20260101T000000.000000Z-abcdef", expected_model=MODEL)


def test_a_version_without_meta_is_incomplete_unlisted_and_unreadable(store):
    store.storage.save("v1/index.faiss", ContentFile(make_index().to_bytes()))
    with pytest.raises(IndexUnavailable, match="incomplete"):
        store.read("v1", expected_model=MODEL)
    assert store.versions() == []


def test_a_version_whose_faiss_file_vanished_is_unavailable(store):
    store.write("v1", make_index(), base_meta())
    store.storage.delete("v1/index.faiss")
    with pytest.raises(IndexUnavailable, match=r"no index\.faiss"):
        store.read("v1", expected_model=MODEL)


def test_corrupt_index_bytes_are_unavailable(store):
    store.write("v1", make_index(), base_meta())
    data = bytearray(store.storage.open("v1/index.faiss").read())
    data[-10] ^= 0xFF  # one flipped bit in the vectors, which faiss itself would not notice
    replace_file(store.storage, "v1/index.faiss", bytes(data))
    with pytest.raises(IndexUnavailable, match="checksum"):
        store.read("v1", expected_model=MODEL)


def test_unreadable_index_bytes_are_unavailable_even_without_a_checksum(store):
    store.write("v1", make_index(), base_meta())
    meta = json.loads(store.storage.open("v1/meta.json").read())
    del meta["index_sha256"]
    replace_file(store.storage, "v1/meta.json", json.dumps(meta).encode())
    replace_file(store.storage, "v1/index.faiss", b"garbage" * 10)
    with pytest.raises(IndexUnavailable, match="unreadable faiss"):
        store.read("v1", expected_model=MODEL)


# ---- attachments ------------------------------------------------------------------------------

HEAD = b"PK\x03\x04 pretend this is a ranking head"


def test_attachments_read_back_exactly_as_written(store):
    written = store.write("v1", make_index(), base_meta(), attachments={"head.npz": HEAD, "notes.txt": b""})
    _, meta = store.read("v1", expected_model=MODEL)

    assert meta == written
    assert set(meta["attachments"]) == {"head.npz", "notes.txt"}
    assert store.read_attachment("v1", "head.npz", meta) == HEAD
    assert store.read_attachment("v1", "notes.txt", meta) == b""


def test_a_tampered_attachment_is_unavailable(store):
    store.write("v1", make_index(), base_meta(), attachments={"head.npz": HEAD})
    _, meta = store.read("v1", expected_model=MODEL)
    replace_file(store.storage, "v1/head.npz", HEAD[:-1] + b"!")

    with pytest.raises(IndexUnavailable, match=r"head\.npz does not match its checksum"):
        store.read_attachment("v1", "head.npz", meta)


def test_an_attachment_that_vanished_is_unavailable(store):
    store.write("v1", make_index(), base_meta(), attachments={"head.npz": HEAD})
    _, meta = store.read("v1", expected_model=MODEL)
    store.storage.delete("v1/head.npz")

    with pytest.raises(IndexUnavailable, match=r"no head\.npz"):
        store.read_attachment("v1", "head.npz", meta)


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "v 1", "index.faiss", "meta.json"])
def test_unsafe_or_reserved_attachment_names_are_refused_before_anything_is_written(store, name):
    with pytest.raises(ValueError, match="attachment name"):
        store.write("v1", make_index(), base_meta(), attachments={name: HEAD})

    assert not store.storage.exists("v1/index.faiss")
    assert store.versions() == []


def test_a_version_saved_without_an_attachment_has_none(store):
    store.write("v1", make_index(), base_meta())
    _, meta = store.read("v1", expected_model=MODEL)
    # A version written before attachments existed has no "attachments" in its meta at all.
    older = {key: value for key, value in meta.items() if key != "attachments"}

    assert store.read_attachment("v1", "head.npz", meta) is None
    assert store.read_attachment("v1", "head.npz", older) is None


def test_a_failed_attachment_write_leaves_no_version_behind(store, monkeypatch):
    save = store.storage.save

    def save_failing_on_attachments(name, content, *args, **kwargs):
        if name.endswith("head.npz"):
            raise OSError("disk full")
        return save(name, content, *args, **kwargs)

    monkeypatch.setattr(store.storage, "save", save_failing_on_attachments)

    with pytest.raises(OSError, match="disk full"):
        store.write("v1", make_index(), base_meta(), attachments={"head.npz": HEAD})

    assert not store.storage.exists("v1/index.faiss")
    assert not store.storage.exists("v1/meta.json")
    assert store.versions() == []


def test_a_count_that_disagrees_with_meta_is_unavailable(store):
    store.write("v1", make_index(), base_meta())
    meta = json.loads(store.storage.open("v1/meta.json").read())
    meta["count"] = 21
    replace_file(store.storage, "v1/meta.json", json.dumps(meta).encode())
    with pytest.raises(IndexUnavailable, match=r"holds 20 vectors.*says 21"):
        store.read("v1", expected_model=MODEL)


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'{"model": "x"}', b"\xff\xfe"])
def test_an_unreadable_meta_is_unavailable(store, content):
    store.write("v1", make_index(), base_meta())
    replace_file(store.storage, "v1/meta.json", content)
    with pytest.raises(IndexUnavailable):
        store.read("v1", expected_model="x")


def test_new_versions_are_unique_and_sort_in_creation_order():
    names = [IndexStore.new_version() for _ in range(200)]
    assert len(set(names)) == 200
    assert names == sorted(names)
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{6}", names[0])


def test_versions_lists_complete_versions_oldest_first(store):
    names = [store.new_version() for _ in range(3)]
    for name in (names[2], names[0], names[1]):
        store.write(name, make_index(), base_meta())
    store.storage.save(f"{store.new_version()}/index.faiss", ContentFile(b"half written"))
    assert store.versions() == names


def test_versions_of_an_empty_store_is_empty(store):
    assert store.versions() == []


def test_prune_deletes_every_other_version_including_stale_incomplete_ones(store):
    old, middle, current = "v1", "v2", "v3"
    for name in (old, middle, current):
        store.write(name, make_index(), base_meta())
    store.storage.save("v0/index.faiss", ContentFile(b"abandoned"))
    assert store.prune(keep=[current]) == ["v0", old, middle]
    assert store.versions() == [current]
    assert store.storage.listdir("")[0] == [current]
    assert store.read(current, expected_model=MODEL)[0].count() == 20


def test_prune_spares_a_version_another_process_is_still_writing(store):
    writing = store.new_version()
    abandoned = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y%m%dT%H%M%S.%fZ") + "-abcdef"
    store.storage.save(f"{writing}/index.faiss", ContentFile(b"in progress"))
    store.storage.save(f"{abandoned}/index.faiss", ContentFile(b"left behind"))
    store.write("v1", make_index(), base_meta())
    assert store.prune(keep=[]) == [abandoned, "v1"]
    assert store.storage.exists(f"{writing}/index.faiss")


def test_prune_leaves_foreign_directories_alone(tmp_path):
    (tmp_path / "store" / "lost+found").mkdir(parents=True)
    store = IndexStore(FileSystemStorage(location=tmp_path / "store"))
    store.write("v1", make_index(), base_meta())
    assert store.prune(keep=[]) == ["v1"]
    assert (tmp_path / "store" / "lost+found").is_dir()


def test_delete_version_removes_it_and_ignores_missing_ones(store):
    store.write("v1", make_index(), base_meta())
    store.delete_version("v1")
    store.delete_version("v1")
    assert store.versions() == []
    with pytest.raises(IndexUnavailable):
        store.read("v1", expected_model=MODEL)


def test_prune_ignores_files_that_vanish_meanwhile(monkeypatch, store):
    store.write("v1", make_index(), base_meta())
    real_delete = store.storage.delete

    def delete_twice(name):  # another process got there first
        real_delete(name)
        raise FileNotFoundError(name)

    monkeypatch.setattr(store.storage, "delete", delete_twice)
    assert store.prune(keep=[]) == ["v1"]
    assert store.versions() == []


def test_default_storage_follows_the_index_dir_setting(settings, tmp_path):
    store = IndexStore()
    settings.CARELINE_INDEX_DIR = tmp_path / "first"
    store.write("v1", make_index(), base_meta())
    settings.CARELINE_INDEX_DIR = tmp_path / "second"
    assert store.versions() == []
    assert (tmp_path / "first" / "v1" / "meta.json").is_file()
    assert (tmp_path / "first" / "v1" / "index.faiss").is_file()


def test_write_grace_outlasts_a_write():
    assert timedelta(minutes=5) <= index_store_module.WRITE_GRACE
