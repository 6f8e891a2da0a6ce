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
"""

from __future__ import annotations

import io
import math
import random
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from sklearn.linear_model import LogisticRegression

from suggestions.perturbation import mention_perturb, topics_joined

HEAD_WEIGHT = 1.0
# Inverse regularisation of the head; 3-30 are all within half a point on BANKING77 validation.
HEAD_C = 10.0
CALIBRATION_FOLDS = 5
MIN_CALIBRATION_ISSUES = 10
CALIBRATION_SEED = 0
PERTURBATION_SEED = 0
PERTURBED_SHARE = 0.5
TWO_TOPIC_SHARE = 0.15


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

    def probability_rows(self, queries: np.ndarray) -> np.ndarray:
        """Probability of each issue (columns) for each query vector (rows)."""
        return _softmax(queries @ self.weights.T + self.bias)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, issue_ids=self.issue_ids, weights=self.weights, bias=self.bias)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> IssueHead:
        """Raises ValueError when ``data`` is not a saved head."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
                head = cls(arrays["issue_ids"], arrays["weights"], arrays["bias"])
        # Empty, truncated or non-archive bytes fail in np.load and zipfile with these as well.
        except (OSError, EOFError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as exc:
            raise ValueError(f"unreadable issue head: {exc}") from None
        rows = len(head.issue_ids)
        if head.weights.ndim != 2 or head.weights.shape[0] != rows or head.bias.shape != (rows,):
            raise ValueError("issue head arrays do not agree in shape")
        return head


def head_fit(vectors: np.ndarray, issue_ids: np.ndarray) -> IssueHead:
    """Fit the issue head on labelled vectors (deterministic for the same input)."""
    classes = np.unique(issue_ids)
    dimension = vectors.shape[1]
    if len(classes) < 2:  # nothing to tell apart: every mention is about the one issue
        return IssueHead(
            classes.astype(np.int64), np.zeros((len(classes), dimension), np.float32), np.zeros(len(classes))
        )
    model = LogisticRegression(C=HEAD_C, max_iter=2000).fit(vectors, issue_ids)
    weights, bias = model.coef_, model.intercept_
    if len(classes) == 2:  # sklearn keeps one row for two classes: logit(b) = w.x + c
        weights = np.vstack([-weights[0] / 2, weights[0] / 2])
        bias = np.array([-bias[0] / 2, bias[0] / 2])
    return IssueHead(model.classes_.astype(np.int64), weights.astype(np.float32), bias.astype(np.float32))


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


def calibration_fit(
    vectors: np.ndarray,
    issue_ids: np.ndarray,
    queryable: np.ndarray,
    *,
    texts: Sequence[str] | None = None,
    encode: Callable[[list[str]], np.ndarray] | None = None,
    perturbed: int = 0,
) -> Calibration | None:
    """Fit the calibration by replaying the library against itself (see the module docstring).

    ``queryable`` marks the vectors that may play mentions (examples, not titles). Given the
    vectors' ``texts`` and an ``encode`` function (texts as mentions to unit vectors), a seeded
    sample of at most ``perturbed`` examples also plays, rewritten as real mentions arrive
    (suggestions.perturbation). Returns None when the library is too small, or the replay too
    one-sided, to learn from."""
    issues = np.unique(issue_ids)
    if len(issues) < MIN_CALIBRATION_ISSUES:
        return None
    rng = np.random.default_rng(CALIBRATION_SEED)
    shuffled = rng.permutation(issues).tolist()
    issue_fold = {issue: position % CALIBRATION_FOLDS for position, issue in enumerate(shuffled)}
    vector_fold = np.zeros(len(issue_ids), dtype=np.int64)
    for issue in issues:
        members = rng.permutation(np.flatnonzero(issue_ids == issue))
        vector_fold[members] = np.arange(len(members)) % CALIBRATION_FOLDS
    noisy = (
        _perturbed_mentions(texts, issue_ids, queryable, encode, perturbed)
        if perturbed > 0 and texts is not None and encode is not None
        else None
    )
    left_out_issues = np.array([issue_fold[int(issue)] for issue in issue_ids])
    features: list[np.ndarray] = []
    correct: list[np.ndarray] = []
    kind: list[np.ndarray] = []
    for fold in range(CALIBRATION_FOLDS):
        left_out = left_out_issues == fold
        train = ~left_out & (vector_fold != fold)
        trained_issues = np.unique(issue_ids[train])
        if len(trained_issues) < 2:
            continue
        held_back = ~left_out & (vector_fold == fold) & queryable
        head = head_fit(vectors[train], issue_ids[train])
        for mask, is_covered in ((held_back, True), (left_out & queryable, False)):
            if not mask.any():
                continue
            fold_features, predicted = _replay(vectors[mask], vectors[train], issue_ids[train], head)
            features.append(fold_features)
            correct.append((predicted == issue_ids[mask]) if is_covered else np.zeros(mask.sum(), dtype=bool))
            kind.append(np.full(mask.sum(), COVERED if is_covered else UNCOVERED))
        if noisy is None:
            continue
        # A perturbed mention plays where its source does; a second topic it carries may be
        # covered even when its source's issue is left out.
        playing = held_back[noisy.source] | (left_out & queryable)[noisy.source]
        if not playing.any():
            continue
        fold_features, predicted = _replay(noisy.vectors[playing], vectors[train], issue_ids[train], head)
        answers = noisy.issues[playing]
        answerable = np.isin(answers, trained_issues)  # answers: (n, 2), -1 for no second topic
        is_right = ((answers == predicted[:, None]) & answerable).any(axis=1)
        features.append(fold_features)
        correct.append(is_right)
        kind.append(np.where(answerable.any(axis=1), PERTURBED_COVERED, PERTURBED_UNCOVERED))
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
    queries: np.ndarray, vectors: np.ndarray, issue_ids: np.ndarray, head: IssueHead
) -> tuple[np.ndarray, np.ndarray]:
    """For each query: the features of the top-ranked issue, and that issue (``head`` fitted on
    ``vectors``)."""
    similarity = queries @ vectors.T
    cosine = np.stack([similarity[:, issue_ids == issue].max(axis=1) for issue in head.issue_ids], axis=1)
    probability = head.probability_rows(queries)
    score = cosine + HEAD_WEIGHT * probability
    order = np.argsort(-score, axis=1)
    rows = np.arange(len(queries))
    top, second = order[:, 0], order[:, 1]  # the caller makes sure of two issues at least
    margin = score[rows, top] - score[rows, second]
    features = np.stack([cosine[rows, top], probability[rows, top], margin], axis=1)
    return features, head.issue_ids[top]


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)
