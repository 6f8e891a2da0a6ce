"""Mentions about two issues at once, on the shipped sample library (brand ``acme-air``).

    .venv/bin/python -m bench.two_topics
    .venv/bin/python -m bench.two_topics --banking77 5   # out-of-scope check, validation rows

``bench/two_topics.jsonl`` holds 40 mentions written for this benchmark, each about two sample
issues ("5 hrs late so I missed my connection AND my bag went to another city": missed-connection
and delayed-baggage), and 10 off-topic mentions of several clauses (no issue: they must be
abstained). Every mention is asked twice in one process, in-process as the API would answer
(channel ``twitter``, limit 3): once as one vector (its topics ignored) and once with its topics
(suggestions.text.mention_topics), alternating which goes first. Reports, for each way:

- ``both_offered``: both issues among the drafts offered (not abstained, top 3);
- ``both_ranked``: both issues among the top 3 ranked drafts, offered or, when abstained, the
  closest drafts an agent may unfold;
- ``one_answered``: not abstained and the first draft is one of the two issues;
- ``wrong_answered``: not abstained and the first draft is neither;
- ``abstained``; for off-topic mentions ``off_topic_answered`` (should be 0);
- ``took_ms``: the median of each way's ``took_ms`` and the median of the per-mention ratio.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path

from bench.banking77 import DEFAULT_SOURCE as BANKING77
from bench.banking77 import library, load_validation
from bench.run import HELD_OUT, Sandbox, write_labelled

DATA = Path(__file__).resolve().with_suffix(".jsonl")
SHOTS = 10

# Asks the sample library about each mention, with and without its topics, and prints one line
# per mention and way. Ignoring the topics is the engine before topics: the whole mention alone.
ASK_PROBE = r"""
import json, sys
import django
django.setup()
from kb.models import Brand
from suggestions import services
from suggestions.services import Mention, suggestions_for

topics = services.mention_topics
brand = Brand.objects.get(key=sys.argv[2]) if sys.argv[2] else None
texts = [json.loads(line)["text"] for line in open(sys.argv[1])]

def ask(text, split):
    services.mention_topics = topics if split else (lambda text: [])
    answer = suggestions_for(mention=Mention(text=text, brand=brand, channel="twitter"), limit=3)
    ranked = list(getattr(answer, "ranked", answer.suggestions))
    return {
        "split": split,
        "issues": [item.issue["key"] for item in ranked],
        "abstained": answer.abstained,
        "took_ms": answer.took_ms,
    }

for text in texts[:10]:  # warm up both ways
    ask(text, False), ask(text, True)
for position, text in enumerate(texts):
    for split in ((False, True) if position % 2 else (True, False)):
        print(json.dumps({"position": position, **ask(text, split)}))
"""


def scores(rows: list[dict], cases: list[dict]) -> dict:
    """Figures for one way of asking; ``rows`` are the probe's lines for it, in the cases' order."""
    paired = [(row, set(case["issues"])) for row, case in zip(rows, cases, strict=True) if case["issues"]]
    off_topic = [row for row, case in zip(rows, cases, strict=True) if not case["issues"]]
    total = len(paired)

    def share(count: int, of: int) -> float:
        return round(count / of, 3) if of else 0.0

    answered = [(row, issues) for row, issues in paired if not row["abstained"]]
    return {
        "two_topic_mentions": total,
        "both_offered": share(sum(issues <= set(row["issues"][:3]) for row, issues in answered), total),
        "both_ranked": share(sum(issues <= set(row["issues"][:3]) for row, issues in paired), total),
        "one_answered": share(sum(row["issues"][0] in issues for row, issues in answered), total),
        "wrong_answered": share(sum(row["issues"][0] not in issues for row, issues in answered), total),
        "abstained": share(total - len(answered), total),
        "off_topic_mentions": len(off_topic),
        "off_topic_answered": share(sum(not row["abstained"] for row in off_topic), len(off_topic)),
        "median_took_ms": round(statistics.median(row["took_ms"] for row in rows), 2),
    }


def both_ways(box: Sandbox, queries: Path, brand: str) -> dict[bool, list[dict]]:
    """The probe's answers in one process, by way of asking (True: with topics), in the order of
    ``queries``."""
    lines = box.python(ASK_PROBE, str(queries), brand).splitlines()
    outcomes = [json.loads(line) for line in lines if line.startswith("{")]
    return {
        split: sorted((row for row in outcomes if row["split"] is split), key=lambda row: row["position"])
        for split in (False, True)
    }


def took_ratio(by_way: dict[bool, list[dict]]) -> float:
    """The median, over mentions, of took_ms with topics over took_ms with the whole mention."""
    ratios = [
        after["took_ms"] / before["took_ms"]
        for before, after in zip(by_way[False], by_way[True], strict=True)
        if before["took_ms"] > 0
    ]
    return round(statistics.median(ratios), 2)


def sample_library_run(data: Path) -> dict:
    cases = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    box = Sandbox()
    try:
        box.manage("migrate", "--noinput")
        box.manage("import_library", "kb/fixtures/sample_library.json")
        box.manage("rebuild_index")
        by_way = both_ways(box, data, "acme-air")
    finally:
        box.close()
    return {
        "whole_mention": scores(by_way[False], cases),
        "with_topics": scores(by_way[True], cases),
        "median_took_ms_ratio": took_ratio(by_way),
        "misses_with_topics": [
            {"text": case["text"], "expected": case["issues"], **row}
            for row, case in zip(by_way[True], cases, strict=True)
            if (case["issues"] and (row["abstained"] or not set(case["issues"]) <= set(row["issues"][:3])))
            or (not case["issues"] and not row["abstained"])
        ],
    }


def banking77_run(rows: int) -> dict:
    """BANKING77 validation messages (training rows after each category's first ten, never the
    test rows) against a 10-shot library lacking HELD_OUT categories (seeded as bench.run)."""
    intents, messages = load_validation(BANKING77, SHOTS, rows, seed=77)
    held = set(random.Random(77).sample(sorted(intents), HELD_OUT))
    box = Sandbox()
    try:
        kept = {key: examples for key, examples in intents.items() if key not in held}
        (box.tmp / "library.json").write_text(json.dumps(library(kept)))
        write_labelled(box.tmp / "queries.jsonl", messages)
        box.manage("migrate", "--noinput")
        box.manage("import_library", str(box.tmp / "library.json"))
        box.manage("rebuild_index")
        by_way = both_ways(box, box.tmp / "queries.jsonl", "")
    finally:
        box.close()
    result: dict = {"messages": len(messages), "uncovered": sum(c in held for _, c in messages)}
    for split, name in ((False, "whole_mention"), (True, "with_topics")):
        outcome = list(zip(by_way[split], [category for _, category in messages], strict=True))
        answered = [(row, c) for row, c in outcome if not row["abstained"]]
        covered = [(row, c) for row, c in outcome if c not in held]
        result[name] = {
            "answered_correct": round(
                sum(bool(row["issues"]) and row["issues"][0] == c for row, c in answered if c not in held)
                / len(covered),
                4,
            ),
            "uncovered_abstained": round(
                sum(row["abstained"] for row, c in outcome if c in held) / result["uncovered"], 4
            ),
            "wrong_of_answered": round(sum(row["issues"][0] != c for row, c in answered) / len(answered), 4)
            if answered
            else 0.0,
            "changed": sum(
                a["issues"][:1] != b["issues"][:1] or a["abstained"] != b["abstained"]
                for a, b in zip(by_way[False], by_way[True], strict=True)
            ),
        }
    result["median_took_ms_ratio"] = took_ratio(by_way)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--banking77", type=int, metavar="ROWS", help="Instead: BANKING77 validation, ROWS per category."
    )
    args = parser.parse_args()
    if args.banking77:
        print(json.dumps(banking77_run(args.banking77), indent=2))
        return
    result = sample_library_run(args.data)
    print(json.dumps(result, indent=2))
    print(
        "\n| two topics, sample library | both offered (top 3) | both ranked (top 3) | one answered "
        "| wrong answered | abstained | off-topic answered | median took_ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, key in (("whole mention", "whole_mention"), ("with topics", "with_topics")):
        row = result[key]
        print(
            f"| {name} | {row['both_offered']:.3f} | {row['both_ranked']:.3f} | {row['one_answered']:.3f} "
            f"| {row['wrong_answered']:.3f} "
            f"| {row['abstained']:.3f} | {row['off_topic_answered']:.3f} | {row['median_took_ms']:.1f} |"
        )
    print(
        f"\nmedian took_ms ratio, with topics / whole mention, per mention: {result['median_took_ms_ratio']}x"
    )


if __name__ == "__main__":
    main()
