from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import faiss
import numpy as np
import pytest

from suggestions.vector_index import VectorIndex

DIM = 32


def unit_vectors(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
def vectors() -> np.ndarray:
    return unit_vectors(200)


@pytest.fixture
def ids() -> np.ndarray:
    return np.arange(1000, 1200, dtype=np.int64)


@pytest.fixture
def index(vectors, ids) -> VectorIndex:
    built = VectorIndex(DIM)
    built.index(vectors, ids)
    return built


def test_search_finds_the_exact_nearest_neighbours(index, vectors, ids):
    queries = unit_vectors(10, seed=1)
    scores, found = index.search(queries, 5)
    expected_order = np.argsort(-(queries @ vectors.T), axis=1)[:, :5]
    np.testing.assert_array_equal(found, ids[expected_order])
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ vectors.T, expected_order, 1), rtol=1e-5)
    assert scores.dtype == np.float32 and found.dtype == np.int64
    assert (np.diff(scores, axis=1) <= 0).all()


def test_a_stored_vector_is_its_own_best_match_with_cosine_one(index, vectors, ids):
    scores, found = index.search(vectors[[7, 42]], 1)
    np.testing.assert_array_equal(found[:, 0], ids[[7, 42]])
    np.testing.assert_allclose(scores[:, 0], 1.0, rtol=1e-5)


def test_k_larger_than_the_index_returns_every_vector_and_never_minus_one(vectors):
    small = VectorIndex(DIM)
    small.index(vectors[:3], [1, 2, 3])
    scores, found = small.search(vectors[:2], 10)
    assert scores.shape == found.shape == (2, 3)
    assert sorted(found[0]) == [1, 2, 3]
    assert (found != -1).all()


def test_an_empty_index_returns_empty_results_per_query():
    scores, found = VectorIndex(DIM).search(unit_vectors(4), 5)
    assert scores.shape == found.shape == (4, 0)


def test_k_zero_and_no_queries_return_empty_results(index):
    assert index.search(unit_vectors(2), 0)[1].shape == (2, 0)
    assert index.search(np.empty((0, DIM), dtype=np.float32), 5)[1].shape == (0, 5)


def test_append_adds_new_ids(index, ids):
    extra = unit_vectors(2, seed=5)
    index.append(extra, [5000, 5001])
    assert index.count() == 202
    assert index.search(extra, 1)[1][:, 0].tolist() == [5000, 5001]
    assert set(index.ids().tolist()) == {*ids.tolist(), 5000, 5001}


def test_append_replaces_the_vector_of_an_id_already_present(index, vectors):
    replacement = unit_vectors(1, seed=9)
    index.append(replacement, [1007])
    assert index.count() == 200
    scores, found = index.search(replacement, 1)
    assert found[0, 0] == 1007 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    # The old vector no longer leads back to 1007 with a perfect score.
    old_scores, old_found = index.search(vectors[[7]], 1)
    assert not (old_found[0, 0] == 1007 and old_scores[0, 0] > 0.999)


def test_delete_removes_ids_ignores_missing_ones_and_counts_what_went(index, vectors):
    assert index.delete([1000, 1001, 999_999, 1001]) == 2
    assert index.count() == 198
    _, found = index.search(vectors[:2], 200)
    assert not np.isin(found, [1000, 1001]).any()
    assert 1000 not in index.ids()
    assert index.delete([]) == 0
    assert VectorIndex(DIM).delete([1]) == 0


def test_index_replaces_everything_that_was_there(index):
    index.index(unit_vectors(3, seed=2), [7, 8, 9])
    assert sorted(index.ids().tolist()) == [7, 8, 9]
    index.index(np.empty((0, DIM), dtype=np.float32), [])
    assert index.count() == 0


def test_bytes_round_trip_gives_identical_results(index):
    restored = VectorIndex.from_bytes(index.to_bytes())
    queries = unit_vectors(20, seed=3)
    assert restored.dimension == DIM
    assert restored.count() == index.count()
    np.testing.assert_array_equal(restored.ids(), index.ids())
    for got, want in zip(restored.search(queries, 7), index.search(queries, 7), strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_restored_index_can_still_be_changed(index):
    restored = VectorIndex.from_bytes(index.to_bytes())
    restored.append(unit_vectors(1, seed=4), [1000])
    assert restored.delete([1001]) == 1
    assert restored.count() == 199
    assert index.count() == 200  # the original is untouched


def test_accepts_lists_and_float64_and_any_integer_ids():
    small = VectorIndex(3)
    small.index([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.array([1, 2], dtype=np.int32))
    scores, found = small.search(np.array([[0.0, 1.0, 0.0]], dtype=np.float64), 1)
    assert found.tolist() == [[2]] and scores.dtype == np.float32


@pytest.mark.parametrize(
    ("make_vectors", "bad_ids", "message"),
    [
        (lambda: unit_vectors(2, dim=16), [1, 2], "dimension 16, the index has 32"),
        (lambda: unit_vectors(2), [1], "2 vectors but 1 ids"),
        (lambda: unit_vectors(3), [1, 2, 1], r"duplicate ids in one call: \[1\]"),
        (lambda: unit_vectors(1)[0], [1], "must be 2-D"),
        (lambda: unit_vectors(2), [1.0, 2.0], "ids must be integers"),
        (lambda: unit_vectors(2), [[1, 2]], "ids must be 1-D"),
        (lambda: unit_vectors(2), [-1, 2], "non-negative"),
        (lambda: np.full((1, DIM), np.nan, dtype=np.float32), [1], "NaN"),
        (lambda: np.array([["a"] * DIM]), [1], "numeric"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(index, make_vectors, bad_ids, message):
    before = index.count()
    with pytest.raises(ValueError, match=message):
        index.append(make_vectors(), bad_ids)
    with pytest.raises(ValueError, match=message):
        VectorIndex(DIM).index(make_vectors(), bad_ids)
    assert index.count() == before


def test_bad_queries_and_k_are_refused(index):
    with pytest.raises(ValueError, match="dimension 8"):
        index.search(unit_vectors(1, dim=8), 3)
    with pytest.raises(ValueError, match="k must be"):
        index.search(unit_vectors(1), -1)


@pytest.mark.parametrize("dimension", [0, -3, 2.5, True, "384"])
def test_a_nonsense_dimension_is_refused(dimension):
    with pytest.raises(ValueError, match="dimension"):
        VectorIndex(dimension)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a faiss index at all",
        faiss.serialize_index(faiss.IndexFlatL2(DIM)).tobytes(),
        faiss.serialize_index(faiss.IndexIDMap2(faiss.IndexFlatL2(DIM))).tobytes(),
    ],
    ids=["empty", "garbage", "flat-l2", "id-map-l2"],
)
def test_from_bytes_refuses_anything_but_a_serialised_vector_index(data):
    with pytest.raises(ValueError):
        VectorIndex.from_bytes(data)


def test_from_bytes_refuses_a_truncated_index(index):
    with pytest.raises(ValueError, match="unreadable"):
        VectorIndex.from_bytes(index.to_bytes()[:-100])


def test_concurrent_searches_agree_with_serial_ones(index):
    queries = [unit_vectors(5, seed=s) for s in range(40)]
    serial = [index.search(q, 10)[1] for q in queries]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda q: index.search(q, 10)[1], queries))
    for got, want in zip(concurrent, serial, strict=True):
        np.testing.assert_array_equal(got, want)
