"""From a mention to ranked issues: embed, search the examples, check them against the library,
then rank the issues found by their closest example and the issue head (see ranking)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb.selectors import examples_matchable
from suggestions.indexing import issue_of_title
from suggestions.ranking import Candidate, fallback_calibration, ranked_with_confidence
from suggestions.recalibration import calibration_recalibrated
from suggestions.serving import ServedIndex

# How many nearest vectors to look at; enough to find several distinct issues.
SEARCH_DEPTH = 50
# A topic of a mention counts when its best issue is at least this confident (issues_matching_topics).
TOPIC_CONFIDENCE = 0.5


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


def issues_matching_topics(
    queries: Sequence[np.ndarray],
    served: ServedIndex,
    *,
    brand_id: int | None = None,
    depth: int = SEARCH_DEPTH,
) -> list[IssueMatch]:
    """Issues for a mention that may be about several, best first: ``queries[0]`` is the whole
    mention's vector, the other rows its topics' (suggestions.text.mention_topics).

    The whole mention's ranking (issues_matching) is the base. Each topic's best issue counts
    when its confidence reaches TOPIC_CONFIDENCE; so does the whole mention's first. When that
    makes two issues or more, the mention is about several: each of them is in the answer with
    the confidence of the vector that supports it best, the whole mention's first (if it counts)
    first, the others by confidence. Otherwise the whole mention's ranking stands, its first issue
    raised to a topic's confidence when that topic finds the same issue: a lone confident sentence
    about something else is a side remark more often than a second issue (bench.two_topics).
    Nothing here depends on CARELINE_ABSTAIN_THRESHOLD, so abstaining stays exactly "the first
    confidence is below it"."""
    ranked = issues_matching(queries[0], served, brand_id=brand_id, depth=depth)
    tops = [
        found[0]
        for topic in queries[1:]
        if (found := issues_matching(topic, served, brand_id=brand_id, depth=depth))
        and found[0].confidence >= TOPIC_CONFIDENCE
    ]
    if not ranked or not tops:
        return ranked
    best = {match.issue_id: match for match in ranked}
    first = ranked[0] if ranked[0].confidence >= TOPIC_CONFIDENCE else None
    issues = {match.issue_id for match in tops} | ({first.issue_id} if first else set())
    for match in tops:
        if (len(issues) > 1 or match.issue_id == ranked[0].issue_id) and (
            match.issue_id not in best or best[match.issue_id].confidence < match.confidence
        ):
            best[match.issue_id] = match
    if len(issues) < 2:
        return [best[match.issue_id] for match in ranked]
    lead = [best.pop(first.issue_id)] if first else []
    return lead + sorted(best.values(), key=lambda match: -match.confidence)


def _head_probabilities(query: np.ndarray, served: ServedIndex, brand_id: int | None) -> dict[int, float]:
    if served.head is None:
        return {}
    probabilities = served.head.probabilities(query, served.allowed_issues(brand_id))
    return dict(zip(served.head.issue_ids.tolist(), probabilities.tolist(), strict=True))
