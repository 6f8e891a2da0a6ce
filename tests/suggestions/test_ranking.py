"""Ranking issues by closest example plus the issue head, and the calibrated confidence, on
synthetic clustered vectors: each issue is a cluster of unit vectors around its own centre."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from suggestions.ranking import (
    HEAD_C,
    MIN_CALIBRATION_ISSUES,
    Calibration,
    Candidate,
    IssueHead,
    calibration_fit,
    fallback_calibration,
    head_fit,
    ranked_with_confidence,
)

DIM = 32
PER_ISSUE = 6
# Issue ids far from 0..n-1, so a row index mistaken for an issue id shows.
FIRST_ISSUE = 100


def centres(count: int, rng: np.random.Generator) -> np.ndarray:
    points = rng.normal(size=(count, DIM))
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def around(centre: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors scattered around `centre`: paraphrases of one issue."""
    points = centre + 0.6 * rng.normal(size=(count, DIM)) / math.sqrt(DIM)
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def library(issues: int, rng: np.random.Generator, *, extra_centres: int = 0):
    """(vectors, issue ids, centres): PER_ISSUE vectors for each of `issues` issues; the
    `extra_centres` further centres belong to no issue (what mentions nothing covers look like)."""
    points = centres(issues + extra_centres, rng)
    vectors = np.vstack([around(points[i], PER_ISSUE, rng) for i in range(issues)])
    labels = np.repeat(np.arange(FIRST_ISSUE, FIRST_ISSUE + issues), PER_ISSUE).astype(np.int64)
    return vectors, labels, points


def candidates_for(query: np.ndarray, vectors: np.ndarray, labels: np.ndarray, head: IssueHead):
    """Every issue's standing for `query`, as the engine computes it."""
    probabilities = head.probabilities(query)
    return [
        Candidate(int(issue), float((vectors[labels == issue] @ query).max()), float(probability))
        for issue, probability in zip(head.issue_ids, probabilities, strict=True)
    ]


def best_issue(head: IssueHead, query: np.ndarray) -> int:
    return int(head.issue_ids[np.argmax(head.probabilities(query))])


# ---- issue head -------------------------------------------------------------------------------


def test_head_ranks_a_new_paraphrase_to_its_clusters_issue():
    rng = np.random.default_rng(0)
    vectors, labels, points = library(8, rng)

    head = head_fit(vectors, labels)

    assert head.issue_ids.tolist() == list(range(FIRST_ISSUE, FIRST_ISSUE + 8))
    for row in range(8):
        for query in around(points[row], 3, rng):
            assert best_issue(head, query) == FIRST_ISSUE + row


def test_forbidden_issues_get_no_probability_and_the_allowed_share_all_of_it():
    rng = np.random.default_rng(1)
    vectors, labels, points = library(6, rng)
    head = head_fit(vectors, labels)
    query = around(points[0], 1, rng)[0]
    allowed = np.array([False, True, True, False, True, True])  # the query's own issue is forbidden

    probabilities = head.probabilities(query, allowed)

    assert probabilities[~allowed].tolist() == [0.0, 0.0]
    assert probabilities[allowed].sum() == pytest.approx(1.0)
    assert (probabilities[allowed] > 0).all()
    assert head.probabilities(query, np.zeros(6, dtype=bool)).tolist() == [0.0] * 6


def test_the_probabilities_of_some_issues_are_theirs_among_all_and_zero_for_an_unknown_one():
    rng = np.random.default_rng(1)
    vectors, labels, points = library(6, rng)
    head = head_fit(vectors, labels)
    query = around(points[2], 1, rng)[0]
    allowed = np.array([True, True, False, True, True, True])
    every = head.probabilities(query, allowed)
    asked = [int(head.issue_ids[4]), int(head.issue_ids[2]), 99_999]

    assert head.probabilities_of(query, asked, allowed) == {
        asked[0]: pytest.approx(float(every[4])),
        asked[1]: 0.0,  # not allowed
        99_999: 0.0,
    }


def test_a_one_issue_head_is_certain_of_that_issue():
    rng = np.random.default_rng(2)
    vectors, labels, points = library(1, rng)

    head = head_fit(vectors, labels)

    assert head.issue_ids.tolist() == [FIRST_ISSUE]
    assert head.probabilities(around(points[0], 1, rng)[0]).tolist() == [1.0]
    assert head.probabilities(-points[0].astype(np.float32)).tolist() == [1.0]


def test_a_two_issue_head_ranks_each_cluster_to_its_issue_with_sklearns_probabilities():
    rng = np.random.default_rng(3)
    vectors, labels, points = library(2, rng)
    queries = np.vstack([around(points[0], 3, rng), around(points[1], 3, rng)])

    head = head_fit(vectors, labels)

    assert [best_issue(head, query) for query in queries] == [FIRST_ISSUE] * 3 + [FIRST_ISSUE + 1] * 3
    expected = LogisticRegression(C=HEAD_C, max_iter=2000).fit(vectors, labels).predict_proba(queries)
    got = np.array([head.probabilities(query) for query in queries])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_head_read_back_from_bytes_gives_identical_probabilities():
    rng = np.random.default_rng(4)
    vectors, labels, points = library(5, rng)
    head = head_fit(vectors, labels)
    allowed = np.array([True, False, True, True, False])

    restored = IssueHead.from_bytes(head.to_bytes())

    np.testing.assert_array_equal(restored.issue_ids, head.issue_ids)
    for query in around(points[2], 3, rng):
        np.testing.assert_array_equal(restored.probabilities(query), head.probabilities(query))
        np.testing.assert_array_equal(
            restored.probabilities(query, allowed), head.probabilities(query, allowed)
        )


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    return buffer.getvalue()


def _saved_head() -> IssueHead:
    rng = np.random.default_rng(5)
    vectors, labels, _ = library(3, rng)
    return head_fit(vectors, labels)


@pytest.mark.parametrize(
    "data",
    [
        lambda head: b"",
        lambda head: b"not a head at all",
        lambda head: head.to_bytes()[: len(head.to_bytes()) // 2],
        lambda head: _npy(),
        lambda head: _npz(issue_ids=head.issue_ids, weights=head.weights),
        lambda head: _npz(issue_ids=head.issue_ids, weights=head.weights, bias=head.bias[:2]),
        lambda head: _npz(issue_ids=head.issue_ids, weights=head.weights[0], bias=head.bias),
    ],
    ids=["empty", "garbage", "truncated", "plain-npy", "no-bias", "short-bias", "flat-weights"],
)
def test_bytes_that_are_not_a_saved_head_are_refused(data):
    with pytest.raises(ValueError):
        IssueHead.from_bytes(data(_saved_head()))


# ---- calibration ------------------------------------------------------------------------------


def test_a_library_with_too_few_issues_has_no_calibration():
    rng = np.random.default_rng(6)
    vectors, labels, _ = library(MIN_CALIBRATION_ISSUES - 1, rng)

    assert calibration_fit(vectors, labels, np.ones(len(labels), dtype=bool)) is None


def test_calibration_trusts_a_close_match_and_doubts_a_mention_nothing_covers():
    rng = np.random.default_rng(7)
    issues = MIN_CALIBRATION_ISSUES + 2
    vectors, labels, points = library(issues, rng, extra_centres=3)
    head = head_fit(vectors, labels)

    calibration = calibration_fit(vectors, labels, np.ones(len(labels), dtype=bool))

    assert calibration is not None

    def top(query: np.ndarray) -> tuple[int, float]:
        candidate, confidence = ranked_with_confidence(
            candidates_for(query, vectors, labels, head), calibration
        )[0]
        return candidate.issue_id, confidence

    covered = [(row, *top(around(points[row], 1, rng)[0])) for row in range(issues)]
    uncovered = [top(around(points[row], 1, rng)[0])[1] for row in range(issues, issues + 3)]
    assert all(issue == FIRST_ISSUE + row for row, issue, _ in covered)
    lowest_covered = min(confidence for *_, confidence in covered)
    assert lowest_covered > max(uncovered)
    # Against the default abstain threshold: every covered mention answered, most others not (an
    # uncovered centre may fall near a covered one).
    assert lowest_covered > 0.5 > float(np.median(uncovered))


def test_calibration_read_back_from_a_dict_is_the_same_and_ignores_extra_keys():
    calibration = Calibration((1.5, 2.25, -0.5), -3.0)

    assert Calibration.from_dict(calibration.as_dict()) == calibration
    assert Calibration.from_dict({**calibration.as_dict(), "changes_since": 4}) == calibration


@pytest.mark.parametrize(
    "data",
    [
        None,
        [1.0, 2.0, 3.0],
        {},
        {"weights": [1.0, 2.0, 3.0]},
        {"bias": 0.5},
        {"weights": [1.0, 2.0], "bias": 0.5},
        {"weights": [1.0, 2.0, 3.0, 4.0], "bias": 0.5},
        {"weights": [1.0, "x", 3.0], "bias": 0.5},
        {"weights": [1.0, 2.0, 3.0], "bias": None},
        {"weights": 7, "bias": 0.5},
    ],
)
def test_anything_but_a_saved_calibration_is_refused(data):
    with pytest.raises(ValueError):
        Calibration.from_dict(data)


def test_fallback_confidence_is_the_configured_logistic_curve_of_the_cosine(settings):
    settings.CARELINE_CONFIDENCE_CENTRE = 0.4
    settings.CARELINE_CONFIDENCE_STEEPNESS = 10.0
    calibration = fallback_calibration()

    for cosine in (0.1, 0.4, 0.55, 0.9):
        expected = 1.0 / (1.0 + math.exp(-10.0 * (cosine - 0.4)))
        for probability, margin in ((0.0, 0.0), (0.9, 0.3), (0.2, -0.4)):
            assert calibration.confidence(Candidate(1, cosine, probability), margin) == pytest.approx(
                expected
            )
    assert calibration.confidence(Candidate(1, 0.4, 0.0), 0.0) == pytest.approx(0.5)


# ---- ranking ----------------------------------------------------------------------------------


def test_issues_rank_by_cosine_plus_head_probability():
    # By cosine alone the order would be 1, 2, 3.
    candidates = [Candidate(1, 0.80, 0.05), Candidate(2, 0.70, 0.60), Candidate(3, 0.60, 0.35)]

    ranked = ranked_with_confidence(candidates, fallback_calibration())

    assert [candidate.issue_id for candidate, _ in ranked] == [2, 3, 1]


def test_confidence_never_rises_down_the_list():
    # Confidence by cosine alone: issue 1, ranked last, would be the most confident.
    by_cosine = Calibration((10.0, 0.0, 0.0), -5.0)
    candidates = [Candidate(1, 0.80, 0.05), Candidate(2, 0.70, 0.60), Candidate(3, 0.60, 0.35)]

    ranked = ranked_with_confidence(candidates, by_cosine)

    confidences = [confidence for _, confidence in ranked]
    assert [candidate.issue_id for candidate, _ in ranked] == [2, 3, 1]
    assert confidences == sorted(confidences, reverse=True)
    assert confidences[0] == pytest.approx(by_cosine.confidence(candidates[1], 1.30 - 0.95))
    # Issue 1 alone would score above both; it is capped by issue 3, ranked just above it.
    assert by_cosine.confidence(candidates[0], 0.85 - 1.30) > confidences[0]
    assert confidences[2] == confidences[1] == pytest.approx(by_cosine.confidence(candidates[2], 0.95 - 1.30))


def test_a_clear_lead_earns_more_confidence_than_a_lone_candidate_or_a_tie():
    by_margin = Calibration((0.0, 0.0, 8.0), 0.0)
    leader = Candidate(1, 0.8, 0.6)

    alone = ranked_with_confidence([leader], by_margin)[0][1]
    ahead = ranked_with_confidence([leader, Candidate(2, 0.4, 0.1)], by_margin)[0][1]
    tied = ranked_with_confidence([leader, Candidate(2, 0.8, 0.6)], by_margin)[0][1]

    assert alone == tied == pytest.approx(0.5)
    assert ahead > 0.9


def test_no_candidates_rank_to_nothing():
    assert ranked_with_confidence([], fallback_calibration()) == []


# ---- determinism ------------------------------------------------------------------------------


def test_fitting_the_same_library_twice_gives_identical_heads_and_calibrations():
    rng = np.random.default_rng(9)
    vectors, labels, _ = library(MIN_CALIBRATION_ISSUES + 1, rng)
    queryable = np.ones(len(labels), dtype=bool)

    first, second = head_fit(vectors, labels), head_fit(vectors, labels)

    for name in ("issue_ids", "weights", "bias"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert first.to_bytes() == second.to_bytes()
    assert calibration_fit(vectors, labels, queryable) == calibration_fit(vectors, labels, queryable)
