"""From a mention to ranked issues: embed, search the examples, check them against the library,
keep the best match per issue."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from kb.selectors import examples_matchable
from suggestions.indexing import issue_of_title
from suggestions.serving import ServedIndex

# How many nearest vectors to look at; enough to find several distinct issues.
SEARCH_DEPTH = 50


@dataclass(frozen=True)
class IssueMatch:
    issue_id: int
    score: float
    confidence: float
    matched_example: str | None  # None when the issue's title matched best


def confidence_of(score: float) -> float:
    """Map a cosine similarity to 0-1: a logistic curve centred where matches become plausible."""
    centre = settings.CARELINE_CONFIDENCE_CENTRE
    steepness = settings.CARELINE_CONFIDENCE_STEEPNESS
    return 1.0 / (1.0 + math.exp(-steepness * (score - centre)))


def issues_matching(query: np.ndarray, served: ServedIndex, *, depth: int = SEARCH_DEPTH) -> list[IssueMatch]:
    """Issues ranked by their closest example (or title) to the query vector, best first.

    Vectors whose example was retired or moved since the index was built are ignored."""
    scores, ids = served.index.search(query.reshape(1, -1), depth)
    hits = [(float(score), int(vector)) for score, vector in zip(scores[0], ids[0], strict=True)]
    examples = examples_matchable(example_ids=[v for _, v in hits if issue_of_title(v) is None])
    best: dict[int, IssueMatch] = {}
    for score, vector in hits:
        title_issue = issue_of_title(vector)
        if title_issue is not None:
            issue_id, text = title_issue, None
        elif vector in examples:
            issue_id, text = examples[vector].issue_id, examples[vector].text
        else:
            continue
        if issue_id not in best:
            best[issue_id] = IssueMatch(issue_id, score, confidence_of(score), text)
    return sorted(best.values(), key=lambda match: -match.score)
