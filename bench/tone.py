"""The tone reader (console.tone) against the crowd's sentiment on real airline mentions, and its cost.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.tone
    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.tone --encode-limit 0   # quality and tone cost only

The tweets of shared/bench/airline-tweets (labels negative/neutral/positive) are read at run time
and never leave this process. A reading becomes a class the way a lead would read it: negative
when its anger reaches a threshold, positive when it reads as praise, neutral otherwise. The rows
are split in two halves with a fixed seed: the threshold is chosen on the first (best macro-F1)
and every figure is reported on the second, so nothing scored has tuned anything. Reported on all
rows of that half and on those the crowd agreed on (sentiment_confidence >= 0.99): accuracy,
macro-F1, F1 per class and the confusion matrix, beside the majority class and plain VADER
(its compound score, thresholds chosen on the same first half; and the customary ±0.05).

Cost: the median microseconds of one tone_read over every tweet, and in the same run the median
of encoding one mention (normalize_mention, then suggestions.engine.texts_embed, as a suggestion
does), interleaved so both see the same load; the ratio says what tone adds to a suggestion. The
best of three reads of each tweet gives the tail of the work itself, mostly free of other processes.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from console.tone import ToneReading, tone_read

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "bench" / "airline-tweets"
CLASSES = ("negative", "neutral", "positive")
CONFIDENT = 0.99
SEED = 16
T = TypeVar("T")
GRID = tuple(round(step / 100, 2) for step in range(5, 96))


@dataclass(frozen=True)
class Row:
    text: str
    sentiment: str
    confidence: float


def rows_read(source: Path) -> list[Row]:
    with open(source / "tweets.csv", newline="", encoding="utf-8") as handle:
        return [
            Row(row["text"], row["sentiment"], float(row["sentiment_confidence"] or 0))
            for row in csv.DictReader(handle)
        ]


def halves(rows: Sequence[Row], seed: int) -> tuple[list[Row], list[Row]]:
    """(choose, score): a seeded shuffle cut in two."""
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    middle = len(shuffled) // 2
    return shuffled[:middle], shuffled[middle:]


def tone_class(reading: ToneReading, threshold: float) -> str:
    """Praise first (a reading is praise only while it is not angry), then anger from the threshold."""
    if "praise" in reading.reasons:
        return "positive"
    return "negative" if reading.anger >= threshold else "neutral"


def compound_class(compound: float, low: float, high: float) -> str:
    return "negative" if compound <= low else "positive" if compound >= high else "neutral"


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float
    f1: dict[str, float]
    confusion: dict[str, dict[str, int]]  # truth -> predicted -> count


def scores(truth: Sequence[str], predicted: Sequence[str]) -> Scores:
    confusion = {label: dict.fromkeys(CLASSES, 0) for label in CLASSES}
    for actual, guess in zip(truth, predicted, strict=True):
        confusion[actual][guess] += 1
    f1 = {}
    for label in CLASSES:
        hits = confusion[label][label]
        predicted_as = sum(confusion[actual][label] for actual in CLASSES)
        actual_as = sum(confusion[label].values())
        f1[label] = 2 * hits / (predicted_as + actual_as) if predicted_as + actual_as else 0.0
    right = sum(confusion[label][label] for label in CLASSES)
    return Scores(right / len(truth), sum(f1.values()) / len(CLASSES), f1, confusion)


def best(candidates: Sequence[T], classify: Callable[[T], Sequence[str]], truth: Sequence[str]) -> T:
    """The candidate whose classes score the best macro-F1 against ``truth``."""
    return max(candidates, key=lambda candidate: scores(truth, classify(candidate)).macro_f1)


def report(name: str, result: Scores) -> None:
    per_class = ", ".join(f"{label} {result.f1[label]:.3f}" for label in CLASSES)
    print(f"  {name:<34} accuracy {result.accuracy:.3f}  macro-F1 {result.macro_f1:.3f}  ({per_class})")


def confusion_print(result: Scores) -> None:
    print("    truth \\ read    " + "".join(f"{label:>10}" for label in CLASSES))
    for actual in CLASSES:
        print(f"    {actual:<16}" + "".join(f"{result.confusion[actual][label]:>10}" for label in CLASSES))


def quality(rows: Sequence[Row], seed: int) -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    vader = SentimentIntensityAnalyzer()
    choose, score = halves(rows, seed)
    readings = {row.text: tone_read(row.text) for row in rows}
    compounds = {row.text: vader.polarity_scores(row.text)["compound"] for row in rows}
    choose_truth = [row.sentiment for row in choose]

    threshold = best(GRID, lambda t: [tone_class(readings[row.text], t) for row in choose], choose_truth)
    pairs: list[tuple[float, float]] = [
        (low, high) for low in (-0.6, -0.4, -0.3, -0.2, -0.1, -0.05, 0.0) for high in GRID[::5]
    ]
    low, high = best(
        pairs, lambda p: [compound_class(compounds[row.text], *p) for row in choose], choose_truth
    )
    majority = max(CLASSES, key=choose_truth.count)
    print(
        f"{len(rows)} tweets, halves of {len(choose)} (choose) and {len(score)} (score), seed {seed}; "
        f"chosen on the first half: anger threshold {threshold}, VADER compound <= {low} negative, "
        f">= {high} positive; majority class {majority}"
    )
    for title, subset in (
        ("every row of the scored half", score),
        (
            f"rows the crowd agreed on (sentiment_confidence >= {CONFIDENT})",
            [row for row in score if row.confidence >= CONFIDENT],
        ),
    ):
        truth = [row.sentiment for row in subset]
        counts = ", ".join(f"{label} {truth.count(label)}" for label in CLASSES)
        print(f"\n{title}: {len(subset)} ({counts})")
        tone = scores(truth, [tone_class(readings[row.text], threshold) for row in subset])
        report("console.tone", tone)
        report("majority class", scores(truth, [majority] * len(truth)))
        report(
            f"VADER compound ({low}, {high})",
            scores(truth, [compound_class(compounds[row.text], low, high) for row in subset]),
        )
        report(
            "VADER compound (-0.05, 0.05)",
            scores(truth, [compound_class(compounds[row.text], -0.05, 0.05) for row in subset]),
        )
        confusion_print(tone)
        needless = [row for row in subset if not readings[row.text].needs_reply]
        print(
            f"  no reply needed: {len(needless)} rows, "
            + ", ".join(f"{label} {sum(row.sentiment == label for row in needless)}" for label in CLASSES)
            + f" (praise {sum('praise' in readings[row.text].reasons for row in needless)}, "
            f"chatter {sum('chatter' in readings[row.text].reasons for row in needless)})"
        )


def _timed(function: Callable[[str], object], text: str) -> int:
    started = time.perf_counter_ns()
    function(text)
    return time.perf_counter_ns() - started


def cost(rows: Sequence[Row], encode_limit: int) -> None:
    texts = [row.text for row in rows]
    for text in texts[:200]:
        tone_read(text)
    tone_ns: list[int] = []
    encode_ns: list[int] = []
    encode: Callable[[str], object] | None = None
    if encode_limit:
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        django.setup()
        from suggestions.engine import texts_embed
        from suggestions.text import normalize_mention

        def encode(text: str) -> object:
            return texts_embed([normalize_mention(text)])

        for text in texts[:20]:
            encode(text)
    every = max(1, len(texts) // encode_limit) if encode_limit else 0
    for index, text in enumerate(texts):
        started = time.perf_counter_ns()
        tone_read(text)
        tone_ns.append(time.perf_counter_ns() - started)
        if encode is not None and index % every == 0 and len(encode_ns) < encode_limit:
            started = time.perf_counter_ns()
            encode(text)
            encode_ns.append(time.perf_counter_ns() - started)
    tone_us = statistics.median(tone_ns) / 1000
    p99 = statistics.quantiles(tone_ns, n=100)[98] / 1000
    slowest = max(tone_ns) / 1000
    print(
        f"\ncost: tone_read median {tone_us:.0f} µs over {len(tone_ns)} tweets "
        f"(99th percentile {p99:.0f} µs, slowest {slowest:.0f} µs)"
    )
    if encode_ns:
        encode_us = statistics.median(encode_ns) / 1000
        print(
            f"      encoding one mention (texts_embed) median {encode_us:.0f} µs over {len(encode_ns)}, "
            f"interleaved: tone adds {100 * tone_us / encode_us:.1f}% of an encoding"
        )
    # The tail above is mostly the machine: another process holding the core. The best of three
    # reads of each tweet shows what the reading itself costs.
    least = [min(_timed(tone_read, text) for _ in range(3)) for text in texts]
    print(
        f"      best of 3 reads per tweet: median {statistics.median(least) / 1000:.0f} µs, "
        f"99th percentile {statistics.quantiles(least, n=100)[98] / 1000:.0f} µs"
    )
    print("      " + subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--encode-limit", type=int, default=2000, help="mentions encoded for the comparison (0: none)"
    )
    args = parser.parse_args()
    rows = rows_read(args.source)
    quality(rows, args.seed)
    cost(rows, args.encode_limit)


if __name__ == "__main__":
    main()
