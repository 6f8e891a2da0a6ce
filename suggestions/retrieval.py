"""From a mention to ranked issues: embed, search the examples, check them against the library,
then rank the issues found by their closest example and the issue head (see ranking)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from kb.selectors import examples_matchable
from suggestions.indexing import issue_of_title
from suggestions.ranking import Calibration, Candidate, fallback_calibration, ranked_with_confidence
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
    query: np.ndarray,
    served: ServedIndex,
    *,
    brand_id: int | None = None,
    depth: int = SEARCH_DEPTH,
    calibration: Calibration | None = None,
) -> list[IssueMatch]:
    """Issues found among the `depth` nearest vectors that may answer `brand_id` (None: every
    brand's), best first, with their confidence. The search runs among that brand's vectors
    alone (ServedIndex.vectors_for), so another brand's library never crowds it out; vectors whose
    example was retired or moved since the index was built are ignored. ``calibration`` defaults
    to the served one, recalibrated (served_calibration); a caller matching several vectors
    reads it once."""
    hits = served.search(query, depth, brand_id=brand_id)
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
    probabilities = _head_probabilities(query, served, brand_id, closest)
    candidates = [
        Candidate(issue_id, score, probabilities[issue_id]) for issue_id, (score, _) in closest.items()
    ]
    calibration = calibration or served_calibration(served)
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

    The whole mention's first issue stays first, with its own confidence, so whether a mention is
    answered, and with which draft first, is the whole mention's call. Each topic whose best issue
    is at least TOPIC_CONFIDENCE confident adds that issue, or raises it, right behind; the other
    issues are ordered by the confidence of the vector that supports them best. So a two-issue
    mention that is answered offers both drafts, and one that abstains keeps both among the
    closest drafts an agent may unfold. Letting a topic answer what the whole mention abstained
    on, or raise the first issue's confidence, was measured and left out: on real airline tweets
    (bench.airline protocol 1) wrong of answered rose from 0.070 to 0.089 (and from 7.4% to 8.9%
    on the tweets with topics even when two topics had to agree), 1 of 10 off-topic mentions of
    bench.two_topics was answered, and on BANKING77 validation more mentions of categories left
    out of the library were answered. Nothing here reads CARELINE_ABSTAIN_THRESHOLD: abstaining
    stays exactly "the first confidence is below it"."""
    calibration = served_calibration(served)
    ranked = issues_matching(queries[0], served, brand_id=brand_id, depth=depth, calibration=calibration)
    if not ranked or len(queries) < 2:
        return ranked
    lead, best = ranked[0], {match.issue_id: match for match in ranked[1:]}
    for topic in queries[1:]:
        found = issues_matching(topic, served, brand_id=brand_id, depth=depth, calibration=calibration)[:1]
        for match in found:
            if match.confidence < TOPIC_CONFIDENCE or match.issue_id == lead.issue_id:
                continue
            if match.issue_id not in best or best[match.issue_id].confidence < match.confidence:
                best[match.issue_id] = match
    return [lead, *sorted(best.values(), key=lambda match: -match.confidence)]


def served_calibration(served: ServedIndex) -> Calibration:
    """The served index's calibration (or the fallback curve), followed by the newest
    recalibration from agents' verdicts: one database read."""
    return calibration_recalibrated(served.calibration or fallback_calibration())


def _head_probabilities(
    query: np.ndarray, served: ServedIndex, brand_id: int | None, issues: Iterable[int]
) -> dict[int, float]:
    """The head's probability of each of ``issues`` (all 0 without a head)."""
    if served.head is None:
        return dict.fromkeys(issues, 0.0)
    return served.head.probabilities_of(query, issues, served.allowed_issues(brand_id))
