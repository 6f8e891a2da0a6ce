"""Measuring retrieval on labelled messages: how often the right issue comes first, and how often
the engine rightly says nothing fits."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kb.models import Brand
from suggestions.services import Mention, suggestions_for


@dataclass(frozen=True)
class LabelledMessage:
    text: str
    issue: str | None  # None: no issue in the library covers it


# Thresholds at which the abstention curve is reported.
CURVE_THRESHOLDS = tuple(round(step / 20, 2) for step in range(20))


@dataclass(frozen=True)
class CurvePoint:
    """What a threshold would give: covered messages answered with the right issue first, and
    uncovered messages abstained."""

    threshold: float
    answered_correct: float
    abstain_recall: float | None


@dataclass(frozen=True)
class Evaluation:
    covered: int
    uncovered: int
    top1: float  # right issue ranked first (covered messages, abstention ignored)
    top3: float
    answered_correct: float  # answered (not abstained) with the right issue first
    abstained_covered: float  # share of covered messages wrongly abstained
    abstain_recall: float | None  # share of uncovered messages abstained
    p50_ms: float
    p95_ms: float
    p99_ms: float
    curve: tuple[CurvePoint, ...] = ()

    def as_dict(self) -> dict[str, float | int | None]:
        return asdict(self)


def read_labelled(path: Path) -> list[LabelledMessage]:
    """Read `{"text": ..., "issue": KEY or null}` lines; raises ValueError naming the bad line."""
    messages = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, issue = row["text"], row.get("issue")
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ValueError(f'line {number}: expected {{"text": "...", "issue": "KEY" or null}}') from None
        if not isinstance(text, str) or not text.strip() or not (issue is None or isinstance(issue, str)):
            raise ValueError(f"line {number}: text must be a non-empty string and issue a key or null")
        messages.append(LabelledMessage(text, issue))
    if not messages:
        raise ValueError("no messages in the file")
    return messages


def evaluate(
    messages: Iterable[LabelledMessage], *, brand: Brand | None = None, channel: str = ""
) -> Evaluation:
    """Ask the engine about every message exactly as the API would (nothing is stored)."""
    hits1 = hits3 = answered_right = abstained_covered = abstained_uncovered = covered = uncovered = 0
    latencies = []
    # Per message: the best confidence, whether the message is covered, whether it came first.
    outcomes: list[tuple[float, bool, bool]] = []
    for message in messages:
        started = time.perf_counter()
        answer = suggestions_for(mention=Mention(text=message.text, brand=brand, channel=channel), limit=3)
        latencies.append((time.perf_counter() - started) * 1000)
        # Ranking is measured whether or not the engine abstained (candidates are ranked too).
        ranked = [suggestion.issue["key"] for suggestion in answer.ranked]
        first = bool(ranked) and ranked[0] == message.issue
        best = answer.ranked[0].confidence if answer.ranked else 0.0
        outcomes.append((best, message.issue is not None, first))
        if message.issue is None:
            uncovered += 1
            abstained_uncovered += answer.abstained
            continue
        covered += 1
        hits1 += first
        hits3 += message.issue in ranked[:3]
        answered_right += first and not answer.abstained
        abstained_covered += answer.abstained
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99]) if latencies else (0.0, 0.0, 0.0)
    share = lambda count, total: round(count / total, 4) if total else 0.0  # noqa: E731
    return Evaluation(
        covered=covered,
        uncovered=uncovered,
        top1=share(hits1, covered),
        top3=share(hits3, covered),
        answered_correct=share(answered_right, covered),
        abstained_covered=share(abstained_covered, covered),
        abstain_recall=share(abstained_uncovered, uncovered) if uncovered else None,
        p50_ms=round(float(p50), 2),
        p95_ms=round(float(p95), 2),
        p99_ms=round(float(p99), 2),
        curve=abstention_curve(outcomes),
    )


def abstention_curve(outcomes: list[tuple[float, bool, bool]]) -> tuple[CurvePoint, ...]:
    """For each threshold in CURVE_THRESHOLDS: the share of covered messages answered with the
    right issue first, and the share of uncovered ones abstained."""
    confidence = np.array([outcome[0] for outcome in outcomes])
    covered = np.array([outcome[1] for outcome in outcomes], dtype=bool)
    right = np.array([outcome[2] for outcome in outcomes], dtype=bool)
    points = []
    for threshold in CURVE_THRESHOLDS:
        answered = confidence >= threshold
        points.append(
            CurvePoint(
                threshold,
                round(float((answered & right)[covered].mean()), 4) if covered.any() else 0.0,
                round(float((~answered)[~covered].mean()), 4) if (~covered).any() else None,
            )
        )
    return tuple(points)
