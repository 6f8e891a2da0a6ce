"""From a mention to ranked issues: embed, search the examples, check them against the library,
then rank the issues found by their closest example and the issue head (see ranking)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb.selectors import examples_matchable
from suggestions.indexing import issue_of_title
from suggestions.ranking import Candidate, fallback_calibration, ranked_with_confidence
from suggestions.recalibration import calibration_recalibrated
from suggestions.serving import ServedIndex

# How many nearest vectors to look at; enough to find several distinct issues.
SEARCH_DEPTH = 50


@dataclass(frozen=True)
class IssueMatch:
    issue_id: int
    score: float  # cosine similarity of the closest example or title
    confidence: float
    matched_example: str | None  # None when the issue's title matched best
    rank_score: float = 0.0


def issues_matching(
    query: np.ndarray, served: ServedIndex, *, brand_id: int | None = None, depth: int = SEARCH_DEPTH
) -> list[IssueMatch]:
    """Issues found among the `depth` nearest vectors, best first, with their confidence. Only
    issues that may answer `brand_id` count (None: every brand's); vectors whose example was
    retired or moved since the index was built are ignored."""
    scores, ids = served.index.search(query.reshape(1, -1), depth)
    hits = [(float(score), int(vector)) for score, vector in zip(scores[0], ids[0], strict=True)]
    examples = examples_matchable(example_ids=[v for _, v in hits if issue_of_title(v) is None])
    closest: dict[int, tuple[float, str | None]] = {}
    for score, vector in hits:
        title_issue = issue_of_title(vector)
        if title_issue is not None:
            issue_id, text = title_issue, None
        elif vector in examples:
            issue_id, text = examples[vector].issue_id, examples[vector].text
        else:
            continue
        if served.may_answer(issue_id, brand_id):
            closest.setdefault(issue_id, (score, text))
    probabilities = _head_probabilities(query, served, brand_id)
    candidates = [
        Candidate(issue_id, score, probabilities.get(issue_id, 0.0))
        for issue_id, (score, _) in closest.items()
    ]
    calibration = calibration_recalibrated(served.calibration or fallback_calibration())
    return [
        IssueMatch(
            candidate.issue_id,
            candidate.cosine,
            confidence,
            closest[candidate.issue_id][1],
            candidate.rank_score,
        )
        for candidate, confidence in ranked_with_confidence(candidates, calibration)
    ]


def _head_probabilities(query: np.ndarray, served: ServedIndex, brand_id: int | None) -> dict[int, float]:
    if served.head is None:
        return {}
    probabilities = served.head.probabilities(query, served.allowed_issues(brand_id))
    return dict(zip(served.head.issue_ids.tolist(), probabilities.tolist(), strict=True))
