"""From similarities to a ranking and a confidence, learned from the library itself.

Each index version carries two small models fitted on its own vectors (examples and titles):

- an **issue head**: multinomial logistic regression from a mention vector to the issue it is
  about. An issue's rank score is the cosine of its closest example plus the head's probability
  (``cosine + HEAD_WEIGHT * probability``): the nearest example alone misses issues whose
  phrasings are spread out, the head alone blurs exact matches.
- a **calibration**: logistic regression from a candidate's (cosine, probability, margin over the
  best other candidate) to the probability that it is the right answer. It is fitted by replaying
  the library against itself: in each of a few folds, a fifth of the issues is left out entirely
  (their examples play mentions nothing covers, which must be abstained) and a fifth of the
  remaining examples is held back (mentions that should find their own issue). Covered and
  uncovered mentions weigh the same in the fit, so 0.5 means "more likely right than wrong when
  a mention is as likely to be covered as not", whatever the library's size.

Both were chosen on a validation split of BANKING77's training rows, never its test rows (see
``bench/``). A library too small to replay (fewer than MIN_CALIBRATION_ISSUES issues) has no
calibration; its confidence falls back to a fixed logistic curve of the cosine.

A large library is fitted in time and memory that grow gently (bench/fit_scale.py): beyond
EXACT_HEAD_CELLS vectors x issues the head is a linear discriminant in closed form (one pass over
the vectors) instead of the regression, whose cost grows with that product; beyond
REPLAY_PHRASINGS queryable phrasings the calibration replays a seeded sample of them; and the
replay's similarities are computed in blocks rather than as one matrix. Below those, nothing
differs from the exact fits.
"""

from __future__ import annotations

import functools
import math
import random
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import numpy as np
from django.conf import settings
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from suggestions.arrays import arrays_from_bytes, arrays_to_bytes
from suggestions.perturbation import mention_perturb, topics_joined

P = ParamSpec("P")
R = TypeVar("R")

HEAD_WEIGHT = 1.0
# Inverse regularisation of the head; 3-30 are all within half a point on BANKING77 validation.
HEAD_C = 10.0
CALIBRATION_FOLDS = 5
MIN_CALIBRATION_ISSUES = 10
CALIBRATION_SEED = 0
PERTURBATION_SEED = 0
PERTURBED_SHARE = 0.5
TWO_TOPIC_SHARE = 0.15
# Where the fits change way (bench/fit_scale.py measures both sides). Up to EXACT_HEAD_CELLS
# vectors x issues the head is a logistic regression (its cost grows with that product: 58 s at
# 100k phrasings in 2,000 issues); beyond, a discriminant head in closed form.
EXACT_HEAD_CELLS = 4_000_000
# Chosen on BANKING77 validation like HEAD_C (0 to 0.05 within half a point, 0.4 1.9 points down).
DISCRIMINANT_SHRINKAGE = 0.02
TEMPERATURE_SAMPLE = 2_000
# Of more queryable phrasings than this, the calibration replays a seeded sample: about the
# replay of a BANKING77-sized library (each phrasing plays in one or two folds), and the cost
# of the replay grows with the library's size alone (370 CPU seconds at 1M phrasings, 2 cores).
REPLAY_PHRASINGS = 12_000
# The replay's similarity matrix stays whole up to this many cells; beyond, it is computed in
# blocks of about FIT_BLOCK_CELLS cells, and the head's probabilities in CHUNK_CELLS.
DENSE_REPLAY_CELLS = 50_000_000
FIT_BLOCK_CELLS = 40_000_000
FIT_BLOCK_ROWS = 65_536
CHUNK_CELLS = 4_000_000


@dataclass(frozen=True)
class IssueHead:
    """A linear softmax classifier over issues; ``issue_ids[i]`` is the issue of row ``i``."""

    issue_ids: np.ndarray  # int64 (n,)
    weights: np.ndarray  # float32 (n, dimension)
    bias: np.ndarray  # float32 (n,)

    def probabilities(self, query: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
        """Probability of each issue for one query vector; issues not ``allowed`` (a boolean
        mask over ``issue_ids``) get 0 and the rest share the whole mass."""
        logits = self.weights @ query + self.bias
        if allowed is not None:
            logits = np.where(allowed, logits, -np.inf)
        if not np.isfinite(logits.max()):
            return np.zeros_like(logits)
        return _softmax(logits[None, :])[0]

    def probabilities_of(
        self, query: np.ndarray, issues: Iterable[int], allowed: np.ndarray | None = None
    ) -> dict[int, float]:
        """``probabilities`` of ``issues`` alone (0 for one the head does not know): a head of
        20,000 issues is read for a few candidates, not turned into a dict of all of them."""
        probabilities = self.probabilities(query, allowed)
        rows = self.row_of
        return {issue: float(probabilities[rows[issue]]) if issue in rows else 0.0 for issue in issues}

    @functools.cached_property
    def row_of(self) -> dict[int, int]:
        """The row of each issue id."""
        return {int(issue): row for row, issue in enumerate(self.issue_ids.tolist())}

    def probability_rows(self, queries: np.ndarray) -> np.ndarray:
        """Probability of each issue (columns) for each query vector (rows)."""
        return _softmax(queries @ self.weights.T + self.bias)

    def to_bytes(self) -> bytes:
        return arrays_to_bytes(issue_ids=self.issue_ids, weights=self.weights, bias=self.bias)

    @classmethod
    def from_bytes(cls, data: bytes) -> IssueHead:
        """Raises ValueError when ``data`` is not a saved head."""
        head = cls(*arrays_from_bytes(data, ("issue_ids", "weights", "bias"), what="issue head"))
        rows = len(head.issue_ids)
        if head.weights.ndim != 2 or head.weights.shape[0] != rows or head.bias.shape != (rows,):
            raise ValueError("issue head arrays do not agree in shape")
        return head


def _fit_threads(fit: Callable[P, R]) -> Callable[P, R]:
    """Runs a fit with CARELINE_FIT_THREADS BLAS threads (1 unless set). On a machine whose cores
    also encode and serve, OpenBLAS's waiting threads make these small matrix products several
    times slower, not faster: the sample library's head took 0.6 s and its calibration 2.6 s on
    two threads, 0.1 s and 0.2 s on one (the same run, load 3-4)."""

    @functools.wraps(fit)
    def limited(*args: P.args, **kwargs: P.kwargs) -> R:
        with threadpool_limits(limits=settings.CARELINE_FIT_THREADS, user_api="blas"):
            return fit(*args, **kwargs)

    return limited


@_fit_threads
def head_fit(vectors: np.ndarray, issue_ids: np.ndarray, *, exact_cells: int | None = None) -> IssueHead:
    """Fit the issue head on labelled vectors (deterministic for the same input): a logistic
    regression while vectors x issues is at most ``exact_cells`` (EXACT_HEAD_CELLS), a
    discriminant head beyond."""
    return _head_fit(vectors, issue_ids, None, EXACT_HEAD_CELLS if exact_cells is None else exact_cells)


def _head_fit(
    vectors: np.ndarray, issue_ids: np.ndarray, rows: np.ndarray | None, exact_cells: int
) -> IssueHead:
    """The head of ``vectors[rows]`` (all of them for None), never copying them all at once."""
    labels = issue_ids if rows is None else issue_ids[rows]
    classes = np.unique(labels)
    dimension = vectors.shape[1]
    if len(classes) < 2:  # nothing to tell apart: every mention is about the one issue
        return IssueHead(
            classes.astype(np.int64), np.zeros((len(classes), dimension), np.float32), np.zeros(len(classes))
        )
    if len(labels) * len(classes) > exact_cells:
        return _discriminant_head(vectors, labels, classes, rows)
    chosen = vectors if rows is None else vectors[rows]
    model = LogisticRegression(C=HEAD_C, max_iter=2000).fit(chosen, labels)
    weights, bias = model.coef_, model.intercept_
    if len(classes) == 2:  # sklearn keeps one row for two classes: logit(b) = w.x + c
        weights = np.vstack([-weights[0] / 2, weights[0] / 2])
        bias = np.array([-bias[0] / 2, bias[0] / 2])
    return IssueHead(model.classes_.astype(np.int64), weights.astype(np.float32), bias.astype(np.float32))


def _discriminant_head(
    vectors: np.ndarray, labels: np.ndarray, classes: np.ndarray, rows: np.ndarray | None
) -> IssueHead:
    """Linear discriminant analysis in closed form: each issue's mean and one within-issue
    covariance (equal priors), the logits scaled by the temperature that best fits a seeded
    sample of the rows (one convex parameter, a few Newton steps). Cost: one pass over the
    vectors in blocks, then a solve in the dimension."""
    count, dimension = len(labels), vectors.shape[1]
    index = np.searchsorted(classes, labels)
    sizes = np.bincount(index, minlength=len(classes))
    sums = np.zeros((len(classes), dimension))
    gram = np.zeros((dimension, dimension))
    for start in range(0, count, FIT_BLOCK_ROWS):
        block = _rows_of(vectors, rows, start, start + FIT_BLOCK_ROWS).astype(np.float64)
        where = index[start : start + FIT_BLOCK_ROWS]
        members = sparse.csr_matrix(
            (np.ones(len(where)), (where, np.arange(len(where)))), shape=(len(classes), len(where))
        )
        sums += members @ block
        gram += block.T @ block
    means = sums / sizes[:, None]
    within = (gram - (means.T * sizes) @ means) / max(count - len(classes), 1)
    # Shrunk towards the average variance (and a little more, for issues of one phrasing each).
    ridge = DISCRIMINANT_SHRINKAGE * np.trace(within) / dimension + 1e-6
    within = (1 - DISCRIMINANT_SHRINKAGE) * within + ridge * np.eye(dimension)
    weights = np.linalg.solve(within, means.T).T
    bias = -0.5 * np.einsum("ij,ij->i", weights, means)
    rng = np.random.default_rng(CALIBRATION_SEED)
    sample = np.sort(rng.choice(count, min(TEMPERATURE_SAMPLE, count), replace=False))
    sampled = vectors[sample] if rows is None else vectors[rows[sample]]
    logits = (sampled @ weights.T.astype(np.float32) + bias.astype(np.float32)).astype(np.float32)
    temperature = _temperature(logits, index[sample])
    return IssueHead(
        classes.astype(np.int64),
        (temperature * weights).astype(np.float32),
        (temperature * bias).astype(np.float32),
    )


def _temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The t > 0 that minimises the mean log loss of softmax(t * logits) against ``truth``
    (convex in t: Newton's steps from the t that makes the logits' spread 1, each within a
    factor 4), summed over chunks of rows so that the temporaries stay small."""
    right = logits[np.arange(len(truth)), truth].astype(np.float64)
    temperature = 1.0 / max(float(logits.std()), 1e-12)
    chunk_rows = _chunk_rows(logits.shape[1])
    for _ in range(50):
        gradient = curvature = 0.0
        for start in range(0, len(logits), chunk_rows):
            chunk = logits[start : start + chunk_rows].astype(np.float64)
            probability = _softmax(temperature * chunk)
            expected = (probability * chunk).sum(axis=1)
            gradient += float((expected - right[start : start + chunk_rows]).sum())
            curvature += float(((probability * chunk * chunk).sum(axis=1) - expected**2).sum())
        updated = min(max(temperature - gradient / max(curvature, 1e-12), temperature / 4), temperature * 4)
        if abs(updated - temperature) <= 1e-6 * temperature:
            return updated
        temperature = updated
    return temperature


def _chunk_rows(columns: int) -> int:
    return max(1, CHUNK_CELLS // max(columns, 1))


def _rows_of(vectors: np.ndarray, rows: np.ndarray | None, start: int, stop: int) -> np.ndarray:
    return vectors[start:stop] if rows is None else vectors[rows[start:stop]]


@dataclass(frozen=True)
class Candidate:
    """One issue's standing for a mention."""

    issue_id: int
    cosine: float  # of the issue's closest example or title
    probability: float  # from the issue head

    @property
    def rank_score(self) -> float:
        return self.cosine + HEAD_WEIGHT * self.probability


@dataclass(frozen=True)
class Calibration:
    """confidence = sigmoid(w . (cosine, probability, margin) + b)."""

    weights: tuple[float, float, float]
    bias: float

    def confidence(self, candidate: Candidate, margin: float) -> float:
        """How likely ``candidate`` is the right answer, given its rank-score ``margin`` over
        the best other candidate (negative when another ranks higher)."""
        z = self.bias + float(np.dot(self.weights, (candidate.cosine, candidate.probability, margin)))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def recalibrated(self, *, raw: Sequence[float], served: Sequence[float]) -> Calibration:
        """This calibration followed by a monotone map of its confidence: piecewise linear
        through the points (``raw[i]``, ``served[i]``), both increasing."""
        return Recalibrated(self.weights, self.bias, tuple(raw), tuple(served))

    def as_dict(self) -> dict[str, Any]:
        return {"weights": list(self.weights), "bias": self.bias}

    @classmethod
    def from_dict(cls, data: Any) -> Calibration:
        """Raises ValueError when ``data`` is not a saved calibration."""
        try:
            weights = tuple(float(value) for value in data["weights"])
            bias = float(data["bias"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"unreadable calibration: {exc!r}") from None
        if len(weights) != 3:
            raise ValueError("a calibration has three weights")
        return cls((weights[0], weights[1], weights[2]), bias)


@dataclass(frozen=True)
class Recalibrated(Calibration):
    """A calibration whose confidence is mapped again, as agents' verdicts taught
    (suggestions.recalibration)."""

    raw: tuple[float, ...] = ()
    served: tuple[float, ...] = ()

    def confidence(self, candidate: Candidate, margin: float) -> float:
        return float(np.interp(super().confidence(candidate, margin), self.raw, self.served))


def fallback_calibration() -> Calibration:
    """For a library too small to calibrate: a logistic curve of the cosine alone, centred where
    matches become plausible (CARELINE_CONFIDENCE_CENTRE / _STEEPNESS)."""
    steepness = settings.CARELINE_CONFIDENCE_STEEPNESS
    return Calibration((steepness, 0.0, 0.0), -steepness * settings.CARELINE_CONFIDENCE_CENTRE)


def ranked_with_confidence(
    candidates: list[Candidate], calibration: Calibration
) -> list[tuple[Candidate, float]]:
    """Candidates best first with their confidence; confidence never rises down the list."""
    ranked = sorted(candidates, key=lambda candidate: -candidate.rank_score)
    result: list[tuple[Candidate, float]] = []
    ceiling = 1.0
    for position, candidate in enumerate(ranked):
        rival = ranked[1] if position == 0 and len(ranked) > 1 else ranked[0] if position else None
        # A lone candidate counts as tied: nothing shows that it stands out.
        margin = candidate.rank_score - rival.rank_score if rival is not None else 0.0
        ceiling = min(ceiling, calibration.confidence(candidate, margin))
        result.append((candidate, ceiling))
    return result


@_fit_threads
def calibration_fit(
    vectors: np.ndarray,
    issue_ids: np.ndarray,
    queryable: np.ndarray,
    *,
    texts: Sequence[str] | None = None,
    encode: Callable[[list[str]], np.ndarray] | None = None,
    perturbed: int = 0,
    replayed: int | None = None,
    exact_cells: int | None = None,
    fold_done: Callable[[], None] | None = None,
) -> Calibration | None:
    """Fit the calibration by replaying the library against itself (see the module docstring).

    ``queryable`` marks the vectors that may play mentions (examples, not titles). Given the
    vectors' ``texts`` and an ``encode`` function (texts as mentions to unit vectors), a seeded
    sample of at most ``perturbed`` examples also plays, rewritten as real mentions arrive
    (suggestions.perturbation). Of more than ``replayed`` (REPLAY_PHRASINGS) queryable vectors, a
    seeded sample of that many plays. The fold heads are of the kind ``head_fit`` fits on the
    whole library with ``exact_cells``, the kind that will be served. ``fold_done`` is called as
    each of the CALIBRATION_FOLDS folds ends. Returns None when the library is too small, or the
    replay too one-sided, to learn from."""
    issues = np.unique(issue_ids)
    if len(issues) < MIN_CALIBRATION_ISSUES:
        return None
    limit = REPLAY_PHRASINGS if replayed is None else replayed
    exact = len(issue_ids) * len(issues) <= (EXACT_HEAD_CELLS if exact_cells is None else exact_cells)
    fold_cells = sys.maxsize if exact else 0
    rng = np.random.default_rng(CALIBRATION_SEED)
    shuffled = rng.permutation(issues)
    fold_of_issue = np.empty(len(issues), dtype=np.int64)
    fold_of_issue[np.searchsorted(issues, shuffled)] = np.arange(len(issues)) % CALIBRATION_FOLDS
    vector_fold = np.zeros(len(issue_ids), dtype=np.int64)
    grouped = np.argsort(issue_ids, kind="stable")  # each issue's rows together, in row order
    bounds = np.searchsorted(issue_ids[grouped], issues, side="right")
    for first, last in zip(np.r_[0, bounds[:-1]], bounds, strict=True):
        members = rng.permutation(grouped[first:last])
        vector_fold[members] = np.arange(len(members)) % CALIBRATION_FOLDS
    playing = queryable
    if queryable.sum() > limit:
        sample = np.random.default_rng(CALIBRATION_SEED).choice(
            np.flatnonzero(queryable), limit, replace=False
        )
        playing = np.zeros(len(issue_ids), dtype=bool)
        playing[sample] = True
    noisy = (
        _perturbed_mentions(texts, issue_ids, queryable, encode, perturbed)
        if perturbed > 0 and texts is not None and encode is not None
        else None
    )
    left_out_issues = fold_of_issue[np.searchsorted(issues, issue_ids)]
    features: list[np.ndarray] = []
    correct: list[np.ndarray] = []
    kind: list[np.ndarray] = []
    for fold in range(CALIBRATION_FOLDS):
        if fold and fold_done is not None:
            fold_done()  # the one before is over
        left_out = left_out_issues == fold
        train = np.flatnonzero(~left_out & (vector_fold != fold))
        trained_issues = np.unique(issue_ids[train])
        if len(trained_issues) < 2:
            continue
        held_back = ~left_out & (vector_fold == fold) & queryable
        head = _head_fit(vectors, issue_ids, train, fold_cells)
        for mask, is_covered in ((held_back & playing, True), (left_out & playing, False)):
            if not mask.any():
                continue
            fold_features, predicted = _replay(vectors[mask], vectors, train, issue_ids, head)
            features.append(fold_features)
            correct.append((predicted == issue_ids[mask]) if is_covered else np.zeros(mask.sum(), dtype=bool))
            kind.append(np.full(mask.sum(), COVERED if is_covered else UNCOVERED))
        if noisy is None:
            continue
        # A perturbed mention plays where its source does; a second topic it carries may be
        # covered even when its source's issue is left out.
        noisy_playing = held_back[noisy.source] | (left_out & queryable)[noisy.source]
        if not noisy_playing.any():
            continue
        fold_features, predicted = _replay(noisy.vectors[noisy_playing], vectors, train, issue_ids, head)
        answers = noisy.issues[noisy_playing]
        answerable = np.isin(answers, trained_issues)  # answers: (n, 2), -1 for no second topic
        is_right = ((answers == predicted[:, None]) & answerable).any(axis=1)
        features.append(fold_features)
        correct.append(is_right)
        kind.append(np.where(answerable.any(axis=1), PERTURBED_COVERED, PERTURBED_UNCOVERED))
    if fold_done is not None:
        fold_done()
    if not features:
        return None
    x, y, row_kind = np.vstack(features), np.concatenate(correct), np.concatenate(kind)
    is_covered_row = (row_kind == COVERED) | (row_kind == PERTURBED_COVERED)
    if y.all() or not y.any() or is_covered_row.all() or not is_covered_row.any():
        return None
    model = LogisticRegression(C=1.0).fit(x, y, sample_weight=_replay_weights(row_kind))
    w = model.coef_[0]
    return Calibration((float(w[0]), float(w[1]), float(w[2])), float(model.intercept_[0]))


COVERED, UNCOVERED, PERTURBED_COVERED, PERTURBED_UNCOVERED = range(4)


def _replay_weights(kind: np.ndarray) -> np.ndarray:
    """Covered and uncovered mentions weigh the same in total; within each, perturbed mentions
    carry PERTURBED_SHARE of the weight (all of it, or none, when the other sort is missing)."""
    weight = np.zeros(len(kind))
    for clean, noisy in ((COVERED, PERTURBED_COVERED), (UNCOVERED, PERTURBED_UNCOVERED)):
        clean_rows, noisy_rows = kind == clean, kind == noisy
        noisy_share = PERTURBED_SHARE if clean_rows.any() and noisy_rows.any() else float(noisy_rows.any())
        if clean_rows.any():
            weight[clean_rows] = 0.5 * (1 - noisy_share) / clean_rows.sum()
        if noisy_rows.any():
            weight[noisy_rows] = 0.5 * noisy_share / noisy_rows.sum()
    return weight * len(kind)


@dataclass(frozen=True)
class PerturbedMentions:
    source: np.ndarray  # int (n,): the row of the phrasing each one rewrites
    issues: np.ndarray  # int64 (n, 2): its issue and a second topic's issue (-1 for none)
    vectors: np.ndarray  # float32 (n, dimension)


def _perturbed_mentions(
    texts: Sequence[str],
    issue_ids: np.ndarray,
    queryable: np.ndarray,
    encode: Callable[[list[str]], np.ndarray],
    limit: int,
) -> PerturbedMentions | None:
    """A seeded sample of at most ``limit`` queryable phrasings, each rewritten once as a
    real mention (a share of them joined with another issue's phrasing), encoded in one batch."""
    rng = random.Random(PERTURBATION_SEED)
    candidates = np.flatnonzero(queryable).tolist()
    if not candidates:
        return None
    sources = sorted(rng.sample(candidates, min(limit, len(candidates))))
    rewritten: list[str] = []
    issues = np.full((len(sources), 2), -1, dtype=np.int64)
    for row, source in enumerate(sources):
        text = texts[source]
        issues[row, 0] = issue_ids[source]
        if rng.random() < TWO_TOPIC_SHARE:
            partner = rng.choice(candidates)
            if issue_ids[partner] != issue_ids[source]:
                text = topics_joined(text, texts[partner], rng=rng)
                issues[row, 1] = issue_ids[partner]
        rewritten.append(mention_perturb(text, rng=rng))
    vectors = np.asarray(encode(rewritten), dtype=np.float32)
    return PerturbedMentions(np.array(sources, dtype=np.int64), issues, vectors)


def _replay(
    queries: np.ndarray, vectors: np.ndarray, rows: np.ndarray, issue_ids: np.ndarray, head: IssueHead
) -> tuple[np.ndarray, np.ndarray]:
    """For each query: the features of the top-ranked issue, and that issue (``head`` fitted on
    ``vectors[rows]``). Up to DENSE_REPLAY_CELLS queries x rows (and issues x rows, what picking
    each issue's columns costs), one similarity matrix; beyond, the same figures in blocks of
    both, so that time and memory stay bounded."""
    if max(len(queries), len(head.issue_ids)) * len(rows) <= DENSE_REPLAY_CELLS:
        similarity = queries @ vectors[rows].T
        labels = issue_ids[rows]
        cosine = np.stack([similarity[:, labels == issue].max(axis=1) for issue in head.issue_ids], axis=1)
        return _top_features(cosine, head.probability_rows(queries), head.issue_ids)
    cosine = _issue_cosines(queries, vectors, rows, issue_ids, head.issue_ids)
    chunk_rows = _chunk_rows(len(head.issue_ids))
    parts = [
        _top_features(
            cosine[start : start + chunk_rows],
            head.probability_rows(queries[start : start + chunk_rows]),
            head.issue_ids,
        )
        for start in range(0, len(queries), chunk_rows)
    ]
    return np.vstack([part[0] for part in parts]), np.concatenate([part[1] for part in parts])


def _issue_cosines(
    queries: np.ndarray, vectors: np.ndarray, rows: np.ndarray, issue_ids: np.ndarray, issues: np.ndarray
) -> np.ndarray:
    """Each query's best cosine with each issue's vectors among ``vectors[rows]`` (columns in the
    order of ``issues``, which holds all their issues), one block of FIT_BLOCK_ROWS rows at a
    time: the rows sorted by issue, each block's per-issue maxima taken with reduceat."""
    order = rows[np.argsort(issue_ids[rows], kind="stable")]
    column = np.searchsorted(issues, issue_ids[order])
    cosine = np.full((len(queries), len(issues)), -np.inf, dtype=np.float32)
    block_rows = max(1, FIT_BLOCK_CELLS // max(len(queries), 1))
    for start in range(0, len(order), block_rows):
        block_columns = column[start : start + block_rows]
        starts = np.flatnonzero(np.r_[True, block_columns[1:] != block_columns[:-1]])
        similarity = queries @ vectors[order[start : start + block_rows]].T
        best = np.maximum.reduceat(similarity, starts, axis=1)
        found = block_columns[starts]
        cosine[:, found] = np.maximum(cosine[:, found], best)
    return cosine


def _top_features(
    cosine: np.ndarray, probability: np.ndarray, issues: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The features (cosine, probability, margin) of each row's top-ranked issue, and that issue."""
    score = cosine + HEAD_WEIGHT * probability
    rows = np.arange(len(cosine))
    # The best two of each row (the caller makes sure of two issues at least), without sorting.
    pair = np.argpartition(-score, 1, axis=1)[:, :2]
    swap = score[rows, pair[:, 1]] > score[rows, pair[:, 0]]
    top, second = np.where(swap, pair[:, 1], pair[:, 0]), np.where(swap, pair[:, 0], pair[:, 1])
    margin = score[rows, top] - score[rows, second]
    features = np.stack([cosine[rows, top], probability[rows, top], margin], axis=1)
    return features, issues[top]


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)
