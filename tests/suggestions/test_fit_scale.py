"""The ranking's fits at scale: beyond EXACT_HEAD_CELLS a discriminant head, beyond
REPLAY_PHRASINGS a seeded sample replayed, beyond DENSE_REPLAY_CELLS the replay in blocks; a
small library fitted exactly as before."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from suggestions import ranking
from suggestions.ranking import Candidate, calibration_fit, head_fit

FIRST_ISSUE = 500


def clustered(issues: int, per_issue: int, dimension: int, *, seed: int, noise: float = 0.9):
    """(vectors, issue ids, centres): unit vectors scattered around one centre per issue,
    shuffled so that no issue's rows are together."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(issues, dimension))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(FIRST_ISSUE, FIRST_ISSUE + issues), per_issue).astype(np.int64)
    points = centres[labels - FIRST_ISSUE] + noise * rng.normal(size=(len(labels), dimension)) / np.sqrt(
        dimension
    )
    vectors = (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)
    order = rng.permutation(len(labels))
    return vectors[order], labels[order], centres


def mentions_of(centres: np.ndarray, count: int, *, seed: int, noise: float = 0.9):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(centres), count)
    points = centres[truth] + noise * rng.normal(size=(count, centres.shape[1])) / np.sqrt(centres.shape[1])
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32), truth + FIRST_ISSUE


def top1(head: ranking.IssueHead, mentions: np.ndarray, truth: np.ndarray) -> float:
    return float((head.issue_ids[np.argmax(head.probability_rows(mentions), axis=1)] == truth).mean())


def test_a_small_library_is_fitted_exactly_as_before():
    # Figures of the fits before the scalable ways existed, on this very library.
    vectors, labels, _ = clustered(15, 12, 24, seed=3)
    queryable = np.ones(len(labels), dtype=bool)
    queryable[::7] = False
    head = head_fit(vectors, labels)
    assert float(np.abs(head.weights).sum()) == pytest.approx(423.4555, rel=1e-4)
    calibration = calibration_fit(vectors, labels, queryable)
    assert calibration is not None
    assert calibration.weights == pytest.approx((2.945651, 2.966517, 3.147468), rel=1e-4)
    assert calibration.bias == pytest.approx(-5.490257, rel=1e-4)


def test_beyond_the_exact_budget_the_head_is_the_discriminant_one():
    vectors, labels, _ = clustered(60, 2, 16, seed=1)  # 120 vectors x 60 issues = 7,200 cells
    beyond = head_fit(vectors, labels, exact_cells=7_199)
    assert np.array_equal(beyond.weights, head_fit(vectors, labels, exact_cells=0).weights)
    assert not np.allclose(beyond.weights, head_fit(vectors, labels, exact_cells=7_200).weights)


def test_the_calibration_replays_the_kind_of_head_that_will_be_served():
    vectors, labels, _ = clustered(15, 12, 24, seed=3)  # 180 vectors x 15 issues = 2,700 cells
    queryable = np.ones(len(labels), dtype=bool)
    # Each fold trains on ~115 vectors (1,700 cells): within 2,000, but the served head is not.
    served_discriminant = calibration_fit(vectors, labels, queryable, exact_cells=2_000)
    assert served_discriminant == calibration_fit(vectors, labels, queryable, exact_cells=0)
    assert served_discriminant != calibration_fit(vectors, labels, queryable, exact_cells=2_700)


def test_the_discriminant_head_ranks_mentions_nearly_as_well_as_the_regression():
    vectors, labels, centres = clustered(40, 30, 32, seed=4, noise=1.6)
    mentions, truth = mentions_of(centres, 600, seed=5, noise=1.6)
    exact, discriminant = head_fit(vectors, labels), head_fit(vectors, labels, exact_cells=0)
    assert np.array_equal(discriminant.issue_ids, exact.issue_ids)
    assert top1(discriminant, mentions, truth) >= top1(exact, mentions, truth) - 0.05
    probabilities = discriminant.probability_rows(mentions)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    # Confident where it is right, as a head must be for the rank score to lean on it.
    assert probabilities.max(axis=1).mean() > 0.5


def test_the_discriminant_head_copes_with_issues_of_one_phrasing():
    vectors, labels, _ = clustered(30, 1, 16, seed=6)
    head = head_fit(vectors, labels, exact_cells=0)
    probabilities = head.probability_rows(vectors)
    assert np.isfinite(probabilities).all()
    assert np.array_equal(head.issue_ids[np.argmax(probabilities, axis=1)], labels)


def test_the_replay_in_blocks_fits_the_same_calibration_as_one_matrix(monkeypatch):
    vectors, labels, _ = clustered(20, 15, 24, seed=7)
    queryable = np.ones(len(labels), dtype=bool)
    whole = calibration_fit(vectors, labels, queryable, exact_cells=0)
    monkeypatch.setattr(ranking, "DENSE_REPLAY_CELLS", 0)
    monkeypatch.setattr(ranking, "FIT_BLOCK_CELLS", 500)  # blocks cut through issues
    blocked = calibration_fit(vectors, labels, queryable, exact_cells=0)
    assert whole is not None and blocked is not None
    # Equal but for float32 rounding: the blocks sum the same terms in another order, and the
    # fit iterates on them.
    assert blocked.weights == pytest.approx(whole.weights, rel=1e-4, abs=1e-5)
    assert blocked.bias == pytest.approx(whole.bias, rel=1e-4, abs=1e-5)


def confidences(calibration: ranking.Calibration) -> np.ndarray:
    grid = [
        (cosine, probability, margin)
        for cosine in (0.3, 0.6, 0.9)
        for probability in (0.1, 0.5, 0.9)
        for margin in (0.0, 0.3)
    ]
    return np.array([calibration.confidence(Candidate(1, c, p), m) for c, p, m in grid])


def test_a_sampled_replay_is_seeded_and_calibrates_like_the_whole_one():
    vectors, labels, _ = clustered(200, 50, 24, seed=8, noise=1.4)
    queryable = np.ones(len(labels), dtype=bool)
    whole = calibration_fit(vectors, labels, queryable, exact_cells=0)
    sampled = calibration_fit(vectors, labels, queryable, exact_cells=0, replayed=5_000)
    again = calibration_fit(vectors, labels, queryable, exact_cells=0, replayed=5_000)
    assert whole is not None and sampled is not None
    assert sampled == again
    assert sampled != whole  # a sample did play, not every phrasing
    # Half the rows, so a little more regularised (C is fixed), but the same curve near enough.
    assert np.abs(confidences(sampled) - confidences(whole)).max() < 0.15


def test_a_large_replay_never_holds_its_similarity_matrix_whole(monkeypatch):
    vectors, labels, _ = clustered(240, 50, 16, seed=9)  # 12,000 phrasings
    queryable = np.ones(len(labels), dtype=bool)
    monkeypatch.setattr(ranking, "DENSE_REPLAY_CELLS", 1_000_000)
    monkeypatch.setattr(ranking, "FIT_BLOCK_CELLS", 1_000_000)
    monkeypatch.setattr(ranking, "CHUNK_CELLS", 100_000)
    tracemalloc.start()
    try:
        calibration = calibration_fit(vectors, labels, queryable, exact_cells=0, replayed=4_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert calibration is not None
    # One fold's left-out mentions (~800 of the 4,000) against its ~7,700 training phrasings are
    # ~6M cells, 24 MB as one float32 matrix (28 MB at the peak of the fit); in blocks of 1M
    # cells the whole fit stays near 9 MB.
    assert peak < 16 * 2**20
