"""How long finding content gaps takes for 10,000 mentions, whether it still finds the topics, and
how pure the gaps and the examples they show are.

    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.gaps                      # 10,000 mentions, PCA to 50
    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.gaps --dimensions 0 20 50  # compare reductions
    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.gaps --repeat 0.2          # a fifth repeat earlier words
    HF_HUB_OFFLINE=1 .venv/bin/python -m bench.gaps --tune                # member thresholds, held out

The mentions are BANKING77 messages (train.csv and test.csv, shuffled with a fixed seed), written
as tweets (a leading handle, a closing hashtag, an emoji and a link) as the engine would receive
them. ``--repeat SHARE`` makes that share of them the same words as an earlier mention (its own
handle, tag, emoji and link), as when several customers send one message. Encoding (the engine's
embedder, after normalize_mention, as gaps_find does) and clustering
(insights.gaps.vectors_cluster: PCA, then HDBSCAN) are timed separately. The 77 categories are the
truth: homogeneity says how pure the clusters are (1.0: each holds one category), purity the share
of clustered mentions that belong to their gap's majority category (weighted by gap size), `topics`
how many categories are the majority of at least one cluster.

Examples: each gap shows its CARELINE_GAP_EXAMPLES most central mentions, ordered as
insights.gaps stores them. "first k" is the rule before examples were deduplicated (the k most
central, repeats and all), "distinct" the rule since (insights.gaps._first_distinct: the same words
count once). For both: example purity (share of shown examples from the gap's majority category),
repeated examples (shown examples whose words another shown example of the gap already has), and
distinct phrasings per gap.

Each run clusters the same vectors twice: "before" clusters every mention and keeps every member,
"after" as gaps_find does (each phrasing once, repeats joining it afterwards, members below
insights.gaps.MEMBER_MIN_CENTRALITY to their gap's centre left out). ``--tune`` compares
thresholds on the BANKING77 messages after the first --count, which the scored ones never hold.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bench.banking77 import DEFAULT_SOURCE, load, tweetify


def mentions(
    source: Path, count: int, seed: int, repeat: float = 0.0, *, held_out: bool = False
) -> tuple[list[str], list[str]]:
    """`count` BANKING77 messages as tweets, with their categories; a `repeat` share of them the
    same message as an earlier one. `held_out`: the messages after the first `count` instead,
    which the scored ones never hold (for choosing settings)."""
    intents, test = load(source, None)
    rows = [(text, category) for category, texts in intents.items() for text in texts] + test
    rng = random.Random(seed)
    rng.shuffle(rows)
    rows = rows[count:] if held_out else rows[:count]
    for index in range(1, len(rows)):
        if rng.random() < repeat:
            rows[index] = rows[rng.randrange(index)]
    return [tweetify(text, rng) for text, _ in rows], [category for _, category in rows]


def purity(truth: np.ndarray, labels: np.ndarray) -> float:
    """Share of clustered rows that belong to their cluster's majority category."""
    clustered = labels != -1
    if not clustered.any():
        return 0.0
    majority = sum(
        Counter(truth[labels == label].tolist()).most_common(1)[0][1]
        for label in set(labels[clustered].tolist())
    )
    return majority / int(clustered.sum())


def examples_measure(
    truth: np.ndarray,
    labels: np.ndarray,
    vectors: np.ndarray,
    keys: Sequence[str],
    pick: Callable[[list[int], list[str]], list[int]],
) -> tuple[float, int, float]:
    """(example purity, repeated examples, distinct phrasings per gap) of the examples that `pick`
    chooses from each cluster's members in stored order (most central first)."""
    from insights.gaps import vectors_centrality

    right = shown = repeated = distinct = 0
    clusters = sorted(set(labels.tolist()) - {-1})
    for label in clusters:
        rows = np.flatnonzero(labels == label)
        centrality = vectors_centrality(vectors[rows])
        order = sorted(range(len(rows)), key=lambda i: (-round(float(centrality[i]), 6), int(rows[i])))
        member_keys = [keys[int(row)] for row in rows]
        chosen = pick(order, member_keys)
        majority = Counter(truth[rows].tolist()).most_common(1)[0][0]
        right += sum(truth[rows[i]] == majority for i in chosen)
        shown += len(chosen)
        phrasings = {member_keys[i] for i in chosen}
        repeated += len(chosen) - len(phrasings)
        distinct += len(phrasings)
    return (right / shown if shown else 0.0), repeated, (distinct / len(clusters) if clusters else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--dimensions", type=int, nargs="+", default=[50], help="PCA sizes (0: none)")
    parser.add_argument("--min-cluster-size", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=float, default=0.0, help="share of mentions repeating earlier words")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument(
        "--tune",
        action="store_true",
        help="compare member thresholds on the messages after the first --count (never scored)",
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    from insights.gaps import MEMBER_MIN_CENTRALITY, _first_distinct, vectors_cluster
    from suggestions.embedder import get_embedder
    from suggestions.text import normalize_mention

    texts, categories = mentions(args.source, args.count, args.seed, args.repeat, held_out=args.tune)
    truth = np.array(categories)
    embedder = get_embedder()
    normalized = [normalize_mention(text) for text in texts]
    started = time.perf_counter()
    vectors = embedder.encode(normalized)
    encoding = time.perf_counter() - started
    rate = len(texts) / encoding
    keys = [text.casefold() for text in normalized]  # as insights.gaps compares phrasings
    print(
        f"{len(texts)} mentions ({len(set(keys))} distinct phrasings, --repeat {args.repeat}), "
        f"model {embedder.name}: encoding {encoding:.1f} s ({rate:.0f}/s)"
    )

    examples = settings.CARELINE_GAP_EXAMPLES
    rules: dict[str, Callable[[list[int], list[str]], list[int]]] = {
        f"first {examples}": lambda order, _keys: order[:examples],
        "distinct": _first_distinct,
    }
    if args.tune:
        tune(truth, vectors, keys, args.min_cluster_size, args.dimensions[0])
        return
    methods: dict[str, tuple[Sequence[str] | None, float]] = {
        "before": (None, 0.0),  # every mention clustered, every member kept
        "after": (keys, MEMBER_MIN_CENTRALITY),  # each phrasing once, far members left out
    }
    for dimensions in args.dimensions:
        for method, (phrasing_keys, min_centrality) in methods.items():
            started = time.perf_counter()
            labels = vectors_cluster(
                vectors,
                min_cluster_size=args.min_cluster_size,
                dimensions=dimensions,
                keys=phrasing_keys,
                min_centrality=min_centrality,
            )
            clustering = time.perf_counter() - started
            print(f"{method}: {clusters_describe(truth, labels, keys)}, clustering {clustering:.1f} s")
            for name, pick in rules.items():
                example_purity, repeated, distinct = examples_measure(truth, labels, vectors, keys, pick)
                print(
                    f"  examples, {name:<8}: purity {example_purity:.3f}, {repeated} repeated, "
                    f"{distinct:.2f} distinct phrasings per gap"
                )


def clusters_describe(truth: np.ndarray, labels: np.ndarray, keys: Sequence[str]) -> str:
    """Gaps, share left out, homogeneity, purity, ARI, topics and the smallest gap's phrasings."""
    from sklearn.metrics import adjusted_rand_score, homogeneity_score

    clustered = labels != -1
    clusters = sorted(set(labels[clustered].tolist()))
    if not clusters:
        return "0 clusters"
    majority = {Counter(truth[labels == label].tolist()).most_common(1)[0][0] for label in clusters}
    fewest = min(len({keys[int(row)] for row in np.flatnonzero(labels == label)}) for label in clusters)
    return (
        f"{len(clusters)} clusters, {int((~clustered).sum())} noise "
        f"({(~clustered).mean():.1%} left out), "
        f"homogeneity {homogeneity_score(truth[clustered], labels[clustered]):.3f}, "
        f"purity {purity(truth, labels):.3f}, "
        f"ARI {adjusted_rand_score(truth[clustered], labels[clustered]):.3f}, "
        f"topics {len(majority)}/{len(set(truth.tolist()))}, "
        f"fewest phrasings in a gap {fewest}"
    )


def tune(
    truth: np.ndarray, vectors: np.ndarray, keys: Sequence[str], min_cluster_size: int, dimensions: int
) -> None:
    """Gaps found at each member threshold, on the held-out messages."""
    from insights.gaps import vectors_cluster

    for threshold in (0.0, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8):
        labels = vectors_cluster(
            vectors,
            min_cluster_size=min_cluster_size,
            dimensions=dimensions,
            keys=keys,
            min_centrality=threshold,
        )
        print(f"min centrality {threshold:.2f}: {clusters_describe(truth, labels, keys)}")


if __name__ == "__main__":
    main()
