"""How long finding content gaps takes for 10,000 mentions, and whether it still finds the topics.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.gaps                      # 10,000 mentions, PCA to 50
    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.gaps --dimensions 0 20 50  # compare reductions

The mentions are BANKING77 messages (train.csv and test.csv, shuffled with a fixed seed), written
as tweets (a leading handle, a closing hashtag, an emoji and a link) as the engine would receive
them. Encoding (the engine's embedder, after normalize_mention, as gaps_find does) and clustering
(insights.gaps.vectors_cluster: PCA, then HDBSCAN) are timed separately. The 77 categories are the
truth: homogeneity says how pure the clusters are (1.0: each holds one category), `topics` how
many categories are the majority of at least one cluster.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

import numpy as np

from bench.banking77 import DEFAULT_SOURCE, load, tweetify


def mentions(source: Path, count: int, seed: int) -> tuple[list[str], list[str]]:
    """`count` BANKING77 messages as tweets, with their categories."""
    intents, test = load(source, None)
    rows = [(text, category) for category, texts in intents.items() for text in texts] + test
    rng = random.Random(seed)
    rng.shuffle(rows)
    rows = rows[:count]
    return [tweetify(text, rng) for text, _ in rows], [category for _, category in rows]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--dimensions", type=int, nargs="+", default=[50], help="PCA sizes (0: none)")
    parser.add_argument("--min-cluster-size", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from sklearn.metrics import adjusted_rand_score, homogeneity_score

    from insights.gaps import vectors_cluster
    from suggestions.embedder import get_embedder
    from suggestions.text import normalize_mention

    texts, categories = mentions(args.source, args.count, args.seed)
    truth = np.array(categories)
    embedder = get_embedder()
    started = time.perf_counter()
    vectors = embedder.encode([normalize_mention(text) for text in texts])
    encoding = time.perf_counter() - started
    rate = len(texts) / encoding
    print(f"{len(texts)} mentions, model {embedder.name}: encoding {encoding:.1f} s ({rate:.0f}/s)")

    for dimensions in args.dimensions:
        started = time.perf_counter()
        labels = vectors_cluster(vectors, min_cluster_size=args.min_cluster_size, dimensions=dimensions)
        clustering = time.perf_counter() - started
        clustered = labels != -1
        majority = {
            max(set(truth[labels == label]), key=list(truth[labels == label]).count)
            for label in set(labels[clustered].tolist())
        }
        print(
            f"dimensions {dimensions or vectors.shape[1]}: clustering {clustering:.1f} s, "
            f"{len(set(labels[clustered].tolist()))} clusters, {int((~clustered).sum())} noise, "
            f"homogeneity {homogeneity_score(truth[clustered], labels[clustered]):.3f}, "
            f"ARI {adjusted_rand_score(truth[clustered], labels[clustered]):.3f}, "
            f"topics {len(majority)}/{len(set(categories))}"
        )


if __name__ == "__main__":
    main()
