"""Careline on real airline mentions, by the protocols in shared/bench/airline-tweets/README.md.

    .venv/bin/python -m bench.airline                  # both protocols
    .venv/bin/python -m bench.airline --protocol 1 --limit 300

The tweets are read from the shared data set at run time and only ever live in a throwaway
Careline (its own SQLite database and index directory, see bench.run.Sandbox): they are never
copied into the product.

1. **The shipped sample library on real mentions.** Every confidently labelled tweet whose label
   maps onto sample issues (``sample_keys.json``) is asked of the sample library (brand
   ``acme-air``, channel ``twitter``), in-process exactly as the API would answer. Reports the
   share answered correctly (right issue first and not abstained), the share of answered ones
   whose first suggestion is wrong, the right issue visible to the agent (top 3 of
   ``suggestions`` or ``candidates``), the share abstained, the ranking alone (threshold 0) and
   the curve over thresholds.
2. **A team's own library from listening.** One issue per label (the 8 reasons but ``Can't
   Tell``, plus ``positive``), 10 tweets each as examples (seeded), every other confidently
   labelled tweet as a query, through ``manage.py evaluate``: top-1, top-3 and its curve.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.run import Sandbox, evaluated

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "bench" / "airline-tweets"
CONFIDENT = 0.99
SHOTS = 10
SEED = 13
THRESHOLDS = tuple(round(step / 20, 2) for step in range(20))

# Asks the sample library about each tweet in-process, as POST /api/v1/suggestions/ would, and
# prints one line per tweet: what the agent is shown (suggestions) or folded (candidates).
ASK_PROBE = r"""
import json, sys
import django
django.setup()
from kb.models import Brand
from suggestions.services import Mention, suggestions_for

brand = Brand.objects.get(key="acme-air")
for text in json.load(open(sys.argv[1])):
    answer = suggestions_for(mention=Mention(text=text, brand=brand, channel="twitter"), limit=3)
    ranked = list(answer.suggestions) or list(getattr(answer, "candidates", []))
    print(json.dumps({
        "issues": [item.issue["key"] for item in ranked],
        "confidence": ranked[0].confidence if ranked else 0.0,
        "abstained": answer.abstained,
    }))
"""


@dataclass(frozen=True)
class Tweet:
    text: str
    label: str  # a reason, or "positive"


def confident_tweets(source: Path) -> list[Tweet]:
    """Tweets whose label the crowd agreed on (README: reason_confidence >= 0.99, or
    sentiment_confidence >= 0.99 for a positive tweet with no reason); ``Can't Tell`` is no label."""
    tweets = []
    with open(source / "tweets.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            reason = row["reason"].strip()
            if reason and reason != "Can't Tell" and float(row["reason_confidence"] or 0) >= CONFIDENT:
                tweets.append(Tweet(row["text"], reason))
            elif (
                not reason
                and row["sentiment"] == "positive"
                and float(row["sentiment_confidence"]) >= CONFIDENT
            ):
                tweets.append(Tweet(row["text"], "positive"))
    return tweets


def share(count: float, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def sample_library_scores(outcomes: Iterable[dict], expected: list[set[str]]) -> dict:
    """Protocol 1's figures from the probe's outcomes, in the tweets' order."""
    rows = list(zip(outcomes, expected, strict=True))
    answered = [(o, keys) for o, keys in rows if not o["abstained"]]
    first_right = [bool(o["issues"]) and o["issues"][0] in keys for o, keys in rows]
    right_confidence = sorted(
        o["confidence"] for (o, _), right in zip(rows, first_right, strict=True) if right
    )
    wrong_confidence = sorted(
        o["confidence"] for (o, _), right in zip(rows, first_right, strict=True) if not right
    )
    curve = []
    for threshold in THRESHOLDS:
        shown = [(o, keys) for o, keys in rows if o["issues"] and o["confidence"] >= threshold]
        right = sum(o["issues"][0] in keys for o, keys in shown)
        curve.append(
            {
                "threshold": threshold,
                "answered_correct": share(right, len(rows)),
                "wrong_of_answered": share(len(shown) - right, len(shown)),
            }
        )
    return {
        "tweets": len(rows),
        "answered_correct": share(sum(o["issues"][0] in keys for o, keys in answered), len(rows)),
        "wrong_of_answered": share(sum(o["issues"][0] not in keys for o, keys in answered), len(answered)),
        "visible_top3": share(sum(bool(set(o["issues"][:3]) & keys) for o, keys in rows), len(rows)),
        "abstained": share(len(rows) - len(answered), len(rows)),
        "ranking_top1": share(sum(first_right), len(rows)),
        "median_confidence_right": _median(right_confidence),
        "median_confidence_wrong": _median(wrong_confidence),
        "curve": curve,
    }


def _median(values: list[float]) -> float:
    return round(values[len(values) // 2], 4) if values else 0.0


def protocol_sample_library(source: Path, limit: int | None) -> dict:
    keys = {
        label: set(issues) for label, issues in json.loads((source / "sample_keys.json").read_text()).items()
    }
    tweets = [tweet for tweet in confident_tweets(source) if tweet.label in keys]
    if limit:
        tweets = random.Random(SEED).sample(tweets, min(limit, len(tweets)))
    box = Sandbox()
    try:
        box.manage("migrate", "--noinput")
        box.manage("import_library", "kb/fixtures/sample_library.json")
        box.manage("rebuild_index")
        (box.tmp / "queries.json").write_text(json.dumps([tweet.text for tweet in tweets]))
        lines = box.python(ASK_PROBE, str(box.tmp / "queries.json")).splitlines()
    finally:
        box.close()
    outcomes = [json.loads(line) for line in lines if line.startswith("{")]
    return sample_library_scores(outcomes, [keys[tweet.label] for tweet in tweets])


def protocol_own_library(source: Path) -> dict:
    by_label: dict[str, list[str]] = {}
    for tweet in confident_tweets(source):
        by_label.setdefault(tweet.label, []).append(tweet.text)
    rng = random.Random(SEED)
    intents: dict[str, list[str]] = {}
    queries: list[tuple[str, str | None]] = []
    for label in sorted(by_label):
        texts = by_label[label]
        chosen = set(rng.sample(range(len(texts)), min(SHOTS, len(texts))))
        key = label.lower().replace(" ", "-").replace("'", "")
        intents[key] = [texts[index] for index in sorted(chosen)]
        queries += [(text, key) for index, text in enumerate(texts) if index not in chosen]
    scores = evaluated(intents, queries)
    majority = max(sum(issue == key for _, issue in queries) for key in intents) / len(queries)
    return {"labels": len(intents), "queries": len(queries), "majority": round(majority, 4), **scores}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--protocol", type=int, choices=(1, 2), action="append")
    parser.add_argument("--limit", type=int, help="Protocol 1: a seeded sample of this many tweets.")
    args = parser.parse_args()
    protocols = args.protocol or [1, 2]
    result: dict[str, dict] = {}
    if 1 in protocols:
        result["sample_library"] = protocol_sample_library(args.source, args.limit)
    if 2 in protocols:
        result["own_library"] = protocol_own_library(args.source)
    print(json.dumps(result, indent=2))
    if "sample_library" in result:
        p1 = result["sample_library"]
        print(
            "\n| real tweets, sample library | tweets | answered correctly | wrong of answered "
            "| right issue visible (top 3) | abstained | ranking top-1 |"
        )
        print("|---|---|---|---|---|---|---|")
        print(
            f"| protocol 1 | {p1['tweets']} | {p1['answered_correct']:.3f} | {p1['wrong_of_answered']:.3f} "
            f"| {p1['visible_top3']:.3f} | {p1['abstained']:.3f} | {p1['ranking_top1']:.3f} |"
        )
    if "own_library" in result:
        p2 = result["own_library"]
        print(
            f"\nprotocol 2 (own library, {SHOTS} tweets per label): "
            f"top-1 {p2['top1']:.3f}, top-3 {p2['top3']:.3f}"
        )


if __name__ == "__main__":
    main()
