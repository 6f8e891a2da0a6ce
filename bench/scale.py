"""How the vector index scales: exact against IVF (and HNSW, for comparison) on synthetic unit
vectors, at several library sizes.

    python -m bench.scale                      # 10k and 100k
    python -m bench.scale --sizes 10000,100000,1000000 --json
    python -m bench.scale --sizes '' --banking77  # the engine's own vectors of BANKING77

The vectors imitate a library: NOISE-spread phrasings around topics of 50 phrasings each (all
unit length, dimension 384 as all-MiniLM-L6-v2), and queries are phrasings perturbed further, as
mentions are (their nearest phrasing at cosine ~0.8, the 10th at ~0.45, close to what the sample
library shows). Uniformly random vectors would be no test: in 384 dimensions they have no
neighbours worth the name and no ANN structure finds them.

For each size it reports the build time (IVF: training included), recall@10 against exact
search, single-query p50/p99 latency on one and two OpenMP threads, and a search restricted to a
1% "brand" (VectorIndex.subset: the selector inside faiss) against the same query unrestricted,
with that brand's recall@10, and what widening the search until 50 of the brand's vectors are
found (the engine's former way) costs. Everything runs in this process, one query at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from suggestions import vector_index
from suggestions.vector_index import DEFAULT_ANN_MIN_VECTORS, VectorIndex

DIMENSION = 384
TOPIC_SIZE = 50
NOISE = 1.0  # the noise vector's length against the topic's (both unit)
QUERIES = 300
BRAND_SHARE = 0.01
DEPTH = 50  # how many neighbours the engine asks for (retrieval.SEARCH_DEPTH)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def library(
    n: int, queries: int = QUERIES, seed: int = 0, *, topic_of: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """n phrasings in topics of TOPIC_SIZE, and ``queries`` mentions near random phrasings."""
    vectors, _, near = labelled_library(n, queries, seed, topic_of=topic_of)
    return vectors, near


def labelled_library(
    n: int, queries: int = QUERIES, seed: int = 0, *, topic_of: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``library``'s phrasings, the topic of each, and its mentions. ``topic_of`` (n labels in
    0 .. n // TOPIC_SIZE - 1) says whose topic each phrasing is, as a library's issues do; by
    default each draws one at random."""
    rng = np.random.default_rng(seed)
    topics = unit(rng.standard_normal((max(n // TOPIC_SIZE, 1), DIMENSION), dtype=np.float32))
    vectors = np.empty((n, DIMENSION), dtype=np.float32)
    labels = np.empty(n, dtype=np.int64)
    for start in range(0, n, 100_000):  # in blocks: bounded memory at 1M
        rows = min(100_000, n - start)
        noise = unit(rng.standard_normal((rows, DIMENSION), dtype=np.float32))
        drawn = rng.integers(0, len(topics), rows)  # drawn all the same: the same noise either way
        labels[start : start + rows] = drawn if topic_of is None else topic_of[start : start + rows]
        vectors[start : start + rows] = unit(topics[labels[start : start + rows]] + NOISE * noise)
    near = vectors[rng.integers(0, n, queries)]
    return (
        vectors,
        labels,
        unit(near + 0.7 * unit(rng.standard_normal((queries, DIMENSION), dtype=np.float32))),
    )


def timed(search: Any, queries: np.ndarray, threads: int) -> tuple[list[np.ndarray], float, float]:
    """Run ``search`` on each query alone with faiss on ``threads``; ids found, p50 and p99 ms."""
    faiss.omp_set_num_threads(threads)
    found, took = [], []
    for query in queries:
        started = time.perf_counter()
        found.append(search(query[None]))
        took.append((time.perf_counter() - started) * 1000)
    return found, float(np.percentile(took, 50)), float(np.percentile(took, 99))


def recall(found: list[np.ndarray], truth: list[np.ndarray], k: int = 10) -> float:
    hits = [
        len(set(got[:k].tolist()) & set(want[:k].tolist()) - {-1}) / k
        for got, want in zip(found, truth, strict=True)
    ]
    return float(np.mean(hits))


def widened(index: VectorIndex, allowed: set[int]) -> Any:
    """The former way: search DEPTH, then 4x deeper until DEPTH allowed vectors are found."""

    def search(query: np.ndarray) -> np.ndarray:
        depth = DEPTH
        while True:
            _, ids = index.search(query, depth)
            kept = [i for i in ids[0].tolist() if i in allowed]
            if len(kept) >= DEPTH or depth >= index.count():
                return np.array(kept[:DEPTH])
            depth *= 4

    return search


def single_thread_search(index: VectorIndex, k: int, among: Any = None) -> Any:
    # VectorIndex.search pins one thread itself; to time two, call faiss directly.
    return lambda query: index.search(query, k, among=among)[1][0]


def raw_search(index: VectorIndex, k: int, among: Any = None) -> Any:
    raw = index._index
    params = among.params if among is not None else None
    return lambda query: raw.search(query, k, params=params)[1][0]


def banking77(queries: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BANKING77's training messages as the library, their categories (its issues), and its first
    test messages as mentions, encoded by the engine's model (about a minute on this machine)."""
    import csv

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from suggestions.embedder import get_embedder
    from suggestions.text import normalize_mention

    source = Path(__file__).resolve().parents[2] / "shared" / "bench" / "banking77"
    rows = {}
    for name in ("train", "test"):
        with open(source / f"{name}.csv", newline="", encoding="utf-8") as handle:
            rows[name] = list(csv.DictReader(handle))
    encode = get_embedder().encode
    _, categories = np.unique([row["category"] for row in rows["train"]], return_inverse=True)
    return (
        encode([normalize_mention(row["text"]) for row in rows["train"]]),
        categories.astype(np.int64),
        encode([normalize_mention(row["text"]) for row in rows["test"][:queries]]),
    )


def lists_by_issue(queries: int, lists: int = 64) -> list[dict[str, Any]]:
    """On real vectors, lists trained on the issues' means against k-means on the vectors:
    BANKING77's 10,003 training messages in ``lists`` lists (fewer than its 77 categories, so the
    means train them), recall@10 of its test messages against exact search as 1, 2, 4 and 8
    lists are opened."""
    vectors, categories, mentions = banking77(queries)
    ids = np.arange(len(vectors), dtype=np.int64)
    _, truth = faiss.knn(mentions, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    rows = []
    for name, groups in (("k-means on the vectors", None), ("the issues' means", categories)):
        index = VectorIndex(DIMENSION, ann_min_vectors=1)
        index._index = vector_index._ivf(vectors, DIMENSION, groups, nlist=lists)
        index._index.add_with_ids(vectors, ids)
        row: dict[str, Any] = {"lists trained on": name}
        for probes in (1, 2, 4, 8):
            index._index.nprobe = probes
            row[f"recall@10, {probes} open"] = round(
                recall(list(index.search(mentions, 10)[1]), list(truth)), 4
            )
        rows.append(row)
    return rows


def measure(n: int, *, hnsw: bool, queries_count: int = QUERIES, real: bool = False) -> list[dict[str, Any]]:
    if real:
        vectors, groups, queries = banking77(queries_count)
    else:
        vectors, groups, queries = labelled_library(n, queries_count)
    n = len(vectors)
    ids = np.arange(n, dtype=np.int64)
    brand = np.random.default_rng(1).choice(n, max(1, int(n * BRAND_SHARE)), replace=False)
    rows: list[dict[str, Any]] = []

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    exact = VectorIndex(DIMENSION, ann_min_vectors=n + 1)
    exact.index(vectors, ids)
    exact_build = time.perf_counter() - started
    truth, *_ = timed(single_thread_search(exact, 10), queries, 1)
    brand_subset = exact.subset(brand)
    brand_truth, *_ = timed(single_thread_search(exact, 10, brand_subset), queries, 1)

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    started = time.perf_counter()
    ivf = VectorIndex(DIMENSION, ann_min_vectors=1)
    # Its phrasings' topics, as the engine passes its phrasings' issues.
    ivf.index(vectors, ids, groups=groups)
    ivf_build = time.perf_counter() - started
    ivf.ann_min_vectors = DEFAULT_ANN_MIN_VECTORS  # its subsets as served: small ones copied

    for name, index, build in (
        ("exact", exact, exact_build),
        (f"ivf nprobe {ivf._index.nprobe}", ivf, ivf_build),
    ):
        subset = index.subset(brand)
        found, p50, p99 = timed(single_thread_search(index, 10), queries, 1)
        _, p50_2, p99_2 = timed(raw_search(index, 10), queries, 2)
        brand_found, bp50, bp99 = timed(single_thread_search(index, 10, subset), queries, 1)
        _, dp50, _ = timed(single_thread_search(index, DEPTH, subset), queries, 1)
        _, wp50, wp99 = timed(widened(index, set(brand.tolist())), queries, 1)
        rows.append(
            {
                "n": f"{n} BANKING77" if real else n,
                "structure": name,
                "brand_nprobe": "copy"
                if subset.exact is not None
                else getattr(subset.params, "nprobe", "all"),
                "build_s": round(build, 2),
                "recall@10": round(recall(found, truth), 4),
                "p50_ms_1t": round(p50, 3),
                "p99_ms_1t": round(p99, 3),
                "p50_ms_2t": round(p50_2, 3),
                "p99_ms_2t": round(p99_2, 3),
                "brand_recall@10": round(recall(brand_found, brand_truth), 4),
                "brand_p50_ms": round(bp50, 3),
                "brand_p99_ms": round(bp99, 3),
                "brand_depth50_p50_ms": round(dp50, 3),
                "widened_p50_ms": round(wp50, 3),
                "widened_p99_ms": round(wp99, 3),
            }
        )
    del ivf

    if hnsw:
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        started = time.perf_counter()
        graph = faiss.IndexHNSWFlat(DIMENSION, 32, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = 40
        graph.add(vectors)
        build = time.perf_counter() - started
        for ef in (64, 128):
            graph.hnsw.efSearch = ef
            found, p50, p99 = timed(lambda q: graph.search(q, 10)[1][0], queries, 1)
            rows.append(
                {
                    "n": f"{n} BANKING77" if real else n,
                    "structure": f"hnsw M32 ef{ef}",
                    "build_s": round(build, 2),
                    "recall@10": round(recall(found, truth), 4),
                    "p50_ms_1t": round(p50, 3),
                    "p99_ms_1t": round(p99, 3),
                }
            )
    return rows


COLUMNS = [
    ("n", "n"),
    ("structure", "structure"),
    ("build_s", "build s"),
    ("recall@10", "recall@10"),
    ("p50_ms_1t", "p50 1t"),
    ("p99_ms_1t", "p99 1t"),
    ("p50_ms_2t", "p50 2t"),
    ("p99_ms_2t", "p99 2t"),
    ("brand_nprobe", "1% nprobe"),
    ("brand_recall@10", "1% recall"),
    ("brand_p50_ms", "1% p50"),
    ("brand_p99_ms", "1% p99"),
    ("brand_depth50_p50_ms", "1% k50 p50"),
    ("widened_p50_ms", "widen p50"),
    ("widened_p99_ms", "widen p99"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated library sizes (none: '')")
    parser.add_argument("--no-hnsw", action="store_true", help="skip the HNSW comparison")
    parser.add_argument("--queries", type=int, default=QUERIES, help="queries timed per size")
    parser.add_argument(
        "--banking77", action="store_true", help="also the real encoder's vectors of BANKING77 (10k)"
    )
    parser.add_argument(
        "--lists-by-issue",
        action="store_true",
        help="only: BANKING77's lists trained on its categories' means against k-means",
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    if args.lists_by_issue:
        for row in lists_by_issue(args.queries):
            print(json.dumps(row))
        return 0
    sizes = [int(size) for size in args.sizes.split(",") if size]
    load = os.getloadavg()
    rows = [row for n in sizes for row in measure(n, hnsw=not args.no_hnsw, queries_count=args.queries)]
    if args.banking77:
        rows += measure(0, hnsw=not args.no_hnsw, queries_count=args.queries, real=True)
    if args.json:
        print(json.dumps({"load_before": load, "load_after": os.getloadavg(), "rows": rows}, indent=2))
        return 0
    after = os.getloadavg()[0]
    print(f"load average {load[0]:.2f} before, {after:.2f} after; latencies in ms, one query at a time")
    print("| " + " | ".join(title for _, title in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(str(row.get(key, "")) for key, _ in COLUMNS) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
