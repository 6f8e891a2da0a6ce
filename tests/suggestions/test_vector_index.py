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


# ---- structure by size, ANN recall and searching among a subset ---------------------------------


def clustered(n: int, seed: int = 0, dim: int = DIM) -> tuple[np.ndarray, np.ndarray]:
    """n unit vectors in topics of 20 (as a library's phrasings), and 50 queries near them."""
    rng = np.random.default_rng(seed)
    topics = unit_vectors(n // 20, seed=seed + 1, dim=dim)
    noise = unit_vectors(n, seed=seed + 2, dim=dim)
    vectors = topics[rng.integers(0, len(topics), n)] + 0.8 * noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[rng.integers(0, n, 50)] + 0.5 * unit_vectors(50, seed=seed + 3, dim=dim)
    return vectors.astype(np.float32), (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(
        np.float32
    )


def exact_top(queries: np.ndarray, vectors: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    return ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :k]]


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found.tolist(), truth.tolist(), strict=True)])
    )


@pytest.fixture(scope="module")
def library_vectors() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vectors, queries = clustered(6000)
    return vectors, np.arange(10, 6010, dtype=np.int64) * 3, queries


@pytest.fixture(scope="module")
def ann(library_vectors) -> VectorIndex:
    vectors, ids, _ = library_vectors
    built = VectorIndex(DIM, ann_min_vectors=5000)
    built.index(vectors, ids)
    return built


def test_an_index_is_exact_below_the_threshold_and_ivf_from_it(library_vectors, ann):
    vectors, ids, _ = library_vectors
    below = VectorIndex(DIM, ann_min_vectors=5000)
    below.index(vectors[:4999], ids[:4999])
    assert below.kind == "exact"
    assert ann.kind == "ivf" and ann.count() == 6000


def test_the_threshold_comes_from_the_settings(settings, library_vectors):
    vectors, ids, _ = library_vectors
    settings.CARELINE_ANN_MIN_VECTORS = 100
    index = VectorIndex(DIM)
    index.index(vectors[:100], ids[:100])
    assert index.kind == "ivf"
    settings.CARELINE_ANN_MIN_VECTORS = 101
    assert VectorIndex.from_bytes(index.to_bytes()).ann_min_vectors == 101


def test_ivf_search_keeps_recall_at_10_against_exact_search(library_vectors, ann):
    vectors, ids, queries = library_vectors
    _, found = ann.search(queries, 10)
    assert recall_at(found, exact_top(queries, vectors, ids, 10)) >= 0.99


def test_many_small_groups_train_the_lists_so_a_search_opens_far_fewer_of_them():
    # 2,000 topics of exactly 20 noisy phrasings over 800 lists: k-means seeded from a sample scatters
    # most topics over many lists; trained on the topics' means, each topic keeps to its own.
    dim, n = 128, 40_000
    rng = np.random.default_rng(2)
    topics = unit_vectors(n // 20, seed=3, dim=dim)
    labels = rng.permutation(np.arange(n) % len(topics))
    vectors = topics[labels] + unit_vectors(n, seed=4, dim=dim)
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    ids = np.arange(n, dtype=np.int64) + 100
    queries = vectors[rng.integers(0, n, 50)] + 0.5 * unit_vectors(50, seed=10, dim=dim)
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    sampled, grouped = VectorIndex(dim, ann_min_vectors=1), VectorIndex(dim, ann_min_vectors=1)
    sampled.index(vectors, ids)
    grouped.index(vectors, ids, groups=labels * 3 + 1)  # any integers: only which are equal counts
    assert sampled.probes[1] == grouped.probes[1] == 800
    assert grouped.probes[0] * 4 <= sampled.probes[0]
    _, found = grouped.search(queries, 10)
    assert recall_at(found, exact_top(queries, vectors, ids, 10)) >= 0.98


def test_fewer_groups_than_lists_are_left_to_k_means(library_vectors):
    vectors, ids, _ = library_vectors
    plain, grouped = VectorIndex(DIM, ann_min_vectors=1), VectorIndex(DIM, ann_min_vectors=1)
    plain.index(vectors, ids)
    grouped.index(vectors, ids, groups=np.arange(len(ids)) % 7)
    assert grouped.to_bytes() == plain.to_bytes()


@pytest.mark.parametrize(
    "groups, message",
    [
        (np.zeros(5, dtype=np.int64), "one label per vector"),
        (np.zeros((6000, 1), dtype=np.int64), "one label per vector"),
        (np.zeros(6000), "must be integers"),
    ],
)
def test_bad_groups_are_refused_with_a_clear_error(library_vectors, groups, message):
    vectors, ids, _ = library_vectors
    with pytest.raises(ValueError, match=message):
        VectorIndex(DIM, ann_min_vectors=1).index(vectors, ids, groups=groups)


def test_an_exact_index_has_no_probes(index):
    assert index.probes is None


def assert_holds_all_and_recalls(index: VectorIndex, vectors, ids, queries) -> None:
    """Every vector kept under its id, and recall@10 of ``queries`` at least 0.99."""
    held, held_ids = index.vectors()
    order = np.argsort(held_ids)
    np.testing.assert_array_equal(held_ids[order], ids)
    np.testing.assert_allclose(held[order], vectors, rtol=1e-6)
    _, found = index.search(queries, 10)
    assert recall_at(found, exact_top(queries, vectors, ids, 10)) >= 0.99


def test_growing_past_the_threshold_turns_an_exact_index_into_an_ivf_one_with_everything_kept(
    library_vectors,
):
    vectors, ids, queries = library_vectors
    index = VectorIndex(DIM, ann_min_vectors=5000)
    index.index(vectors[:4000], ids[:4000])
    index.append(vectors[4000:], ids[4000:])
    assert index.kind == "ivf"
    assert_holds_all_and_recalls(index, vectors, ids, queries)


def test_an_ivf_index_grown_to_four_times_its_lists_size_is_built_anew_with_twice_the_lists(
    library_vectors,
):
    vectors, ids, queries = library_vectors
    index = VectorIndex(DIM, ann_min_vectors=1)
    index.index(vectors[:1000], ids[:1000])
    assert index.probes[1] == 126  # 4 * sqrt(1000): made for 1,000 vectors
    index.append(vectors[1000:3900], ids[1000:3900])
    assert index.probes[1] == 126
    index.append(vectors[3900:], ids[3900:])
    assert index.probes[1] == 310  # 4 * sqrt(6000)
    assert_holds_all_and_recalls(index, vectors, ids, queries)


def test_an_append_that_builds_the_index_anew_asks_for_the_groups_of_everything_held():
    rng = np.random.default_rng(5)
    vectors = unit_vectors(3000, seed=6)
    ids = np.arange(3000, dtype=np.int64) * 7
    group_of = dict(zip(ids.tolist(), rng.integers(0, 600, 3000).tolist(), strict=True))
    asked: list[int] = []

    def groups_of(some: np.ndarray) -> list[int]:
        asked.extend(some.tolist())
        return [group_of[i] for i in some.tolist()]

    grown = VectorIndex(DIM, ann_min_vectors=2000)
    grown.index(vectors[:1500], ids[:1500])
    grown.append(vectors[1500:], ids[1500:], groups_of=groups_of)
    whole = VectorIndex(DIM, ann_min_vectors=2000)
    whole.index(vectors, ids, groups=[group_of[i] for i in ids.tolist()])

    assert sorted(asked) == sorted(ids.tolist())
    assert grown.kind == "ivf" and grown.to_bytes() == whole.to_bytes()


def test_ivf_append_replaces_delete_removes_and_bytes_round_trip(library_vectors, ann):
    vectors, ids, _ = library_vectors
    index = VectorIndex.from_bytes(ann.to_bytes())
    assert index.kind == "ivf" and index.count() == 6000
    moved = unit_vectors(1, seed=99)
    index.append(moved, ids[:1])
    assert index.delete([ids[1], ids[2], 7]) == 2
    assert index.count() == 5998
    scores, found = index.search(moved, 1)
    assert found[0, 0] == ids[0] and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    restored = VectorIndex.from_bytes(index.to_bytes())
    assert sorted(restored.ids().tolist()) == sorted(set(ids.tolist()) - {int(ids[1]), int(ids[2])})
    np.testing.assert_array_equal(restored.search(vectors[:20], 10)[1], index.search(vectors[:20], 10)[1])


def test_a_subset_search_is_the_exact_search_among_those_ids(index, vectors, ids):
    chosen = ids[::7]
    queries = unit_vectors(10, seed=5)
    _, found = index.search(queries, 5, among=index.subset([*chosen, 999_999]))
    mask = np.isin(ids, chosen)
    np.testing.assert_array_equal(found, exact_top(queries, vectors[mask], ids[mask], 5))
    assert index.subset(chosen).count == len(chosen)
    assert index.search(queries, 500, among=index.subset(chosen))[1].shape == (10, len(chosen))


@pytest.mark.parametrize("structure", ["exact", "ivf"])
def test_a_subset_of_every_vector_searches_as_the_whole_index_does(library_vectors, structure):
    vectors, ids, queries = library_vectors
    index = VectorIndex(DIM, ann_min_vectors=5000 if structure == "ivf" else 10_000)
    index.index(vectors, ids)
    every = index.subset([*ids, 1])  # an id it does not hold changes nothing
    assert every.count == len(ids) and every.params is None
    for whole, among in zip(index.search(queries, 10), index.search(queries, 10, among=every), strict=True):
        np.testing.assert_array_equal(whole, among)


@pytest.mark.parametrize(
    "share, threshold",
    [(0.01, 5000), (0.2, 5000), (0.2, 1000)],
    ids=["1%-copied", "20%-copied", "20%-selected-in-the-lists"],
)
def test_an_ivf_search_among_a_brands_share_keeps_recall_at_10(library_vectors, ann, share, threshold):
    vectors, ids, queries = library_vectors
    index = VectorIndex.from_bytes(ann.to_bytes(), ann_min_vectors=threshold)
    chosen = np.sort(np.random.default_rng(4).choice(len(ids), int(len(ids) * share), replace=False))
    _, found = index.search(queries, 10, among=index.subset(ids[chosen]))
    assert np.isin(found[found >= 0], ids[chosen]).all()
    assert recall_at(found, exact_top(queries, vectors[chosen], ids[chosen], 10)) >= 0.99


def test_a_search_leaves_the_callers_thread_setting_alone():
    before = faiss.omp_get_max_threads()
    built = VectorIndex(DIM)
    built.index(unit_vectors(50), np.arange(50))
    built.search(unit_vectors(1), 3)
    assert faiss.omp_get_max_threads() == before


def _ivf_bytes(metric: int = faiss.METRIC_INNER_PRODUCT, hashtable: bool = True) -> bytes:
    vectors = unit_vectors(200)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlat(DIM, metric), DIM, 4, metric)
    ivf.train(vectors)
    if hashtable:
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
    ivf.add_with_ids(vectors, np.arange(200, dtype=np.int64))
    return faiss.serialize_index(ivf).tobytes()


@pytest.mark.parametrize(
    "data",
    [
        _ivf_bytes(metric=faiss.METRIC_L2),
        _ivf_bytes(hashtable=False),
        faiss.serialize_index(faiss.IndexHNSWFlat(DIM, 8, faiss.METRIC_INNER_PRODUCT)).tobytes(),
        faiss.serialize_index(
            faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, 4, faiss.METRIC_INNER_PRODUCT)
        ).tobytes(),
    ],
    ids=["ivf-l2", "ivf-without-id-map", "hnsw", "untrained-ivf"],
)
def test_from_bytes_refuses_other_ann_indexes(data):
    with pytest.raises(ValueError):
        VectorIndex.from_bytes(data)


def test_from_bytes_reads_an_ivf_index_built_as_the_engine_builds_it():
    assert VectorIndex.from_bytes(_ivf_bytes()).kind == "ivf"
