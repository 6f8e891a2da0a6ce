"""BANKING77 as Careline data, by the protocol in shared/bench/banking77/README.md.

    python -m bench.banking77 --shots 10 --out var/bench/banking77-10
writes library.json (one issue per category, one approved placeholder response each, the first
k training rows of each category as examples) and test.jsonl (every test row) for
`manage.py import_library` and `manage.py evaluate`. `--holdout N` leaves N categories (chosen
with a fixed seed) out of the library; their test rows get "issue": null. `--tweetify` rewrites
every test message the way it would arrive on Twitter (lowercased, a leading @handle, a hashtag,
an emoji, a link), seeded, to measure robustness to social text.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "bench" / "banking77"


def load(source: Path, shots: int | None) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    intents: dict[str, list[str]] = {}
    with open(source / "train.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            examples = intents.setdefault(row["category"], [])
            if (shots is None or len(examples) < shots) and row["text"].strip() not in examples:
                examples.append(row["text"].strip())
    with open(source / "test.csv", newline="", encoding="utf-8") as handle:
        test = [(row["text"], row["category"]) for row in csv.DictReader(handle)]
    return intents, test


def load_validation(
    source: Path, shots: int | None, rows: int, *, seed: int
) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """A library and validation messages from train.csv alone, for choices that must never see
    the test rows: a k-shot library is asked the next `rows` training rows of each category; the
    full library leaves out a seeded tenth of each category and is asked those."""
    every, _ = load(source, None)
    rng = random.Random(seed)
    library: dict[str, list[str]] = {}
    messages: list[tuple[str, str]] = []
    for category, texts in every.items():
        if shots is None:
            held = set(rng.sample(range(len(texts)), max(1, len(texts) // 10)))
            library[category] = [text for index, text in enumerate(texts) if index not in held]
            messages += [(texts[index], category) for index in sorted(held)]
        else:
            library[category] = texts[:shots]
            messages += [(text, category) for text in texts[shots : shots + rows]]
    return library, messages


HANDLES = ("@MyBank", "@mybank_help", "@BankSupport")
HASHTAGS = ("#help", "#banking", "#fail", "#customerservice", "#NotHappy")
EMOJI = ("😡", "🙏", "😩", "🤔", "💳", "‼️")


def tweetify(text: str, rng: random.Random) -> str:
    """The same message as a tweet: lowercased, addressed, tagged, with an emoji and a link."""
    return (
        f"{rng.choice(HANDLES)} {text.lower()} {rng.choice(HASHTAGS)} {rng.choice(EMOJI)} "
        f"https://t.co/{rng.randrange(16**8):08x}"
    )


def library(intents: dict[str, list[str]]) -> dict:
    return {
        "format": "careline-library/1",
        "brands": [],
        "issues": [
            {
                "key": key,
                "title": key.replace("_", " "),
                "description": "",
                "tags": [],
                "private_channel": False,
                "examples": examples,
                "responses": [
                    {
                        "key": f"{key}-reply",
                        "channel": "any",
                        "status": "approved",
                        "text": "Thanks {{ customer_name|default:'there' }}, we can help with "
                        + key.replace("_", " ")
                        + ".",
                    }
                ],
            }
            for key, examples in intents.items()
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--shots", type=int, default=10, help="Examples per issue; 0 for every training row.")
    parser.add_argument("--holdout", type=int, default=0, help="Categories left out of the library.")
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--tweetify", action="store_true", help="Test messages as tweets.")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    intents, test = load(args.source, args.shots or None)
    held_out = set(random.Random(args.seed).sample(sorted(intents), args.holdout)) if args.holdout else set()
    args.out.mkdir(parents=True, exist_ok=True)
    kept = {key: examples for key, examples in intents.items() if key not in held_out}
    (args.out / "library.json").write_text(
        json.dumps(library(kept), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    rng = random.Random(args.seed)
    with open(args.out / "test.jsonl", "w", encoding="utf-8") as handle:
        for text, category in test:
            issue = None if category in held_out else category
            message = tweetify(text, rng) if args.tweetify else text
            handle.write(json.dumps({"text": message, "issue": issue}, ensure_ascii=False) + "\n")
    examples = sum(len(v) for v in kept.values())
    print(
        f"{args.out}: {len(kept)} issues, {examples} examples, "
        f"{len(test)} test messages, {len(held_out)} held out"
    )


if __name__ == "__main__":
    main()
