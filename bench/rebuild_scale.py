"""A full rebuild, and suggestions, at a million phrasings, through the engine's own code.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/careline_fresh CARELINE_INDEX_DIR=var/bench/fresh-index \\
    .venv/bin/python -m bench.rebuild_scale --size 1000000 --json var/bench/rebuild-1m.json

The library is bench.freshness's synthetic one (written in bulk if the database does not hold it
at that size). Encoding a million phrasings with the model takes over half an hour on two cores,
so the rebuild runs `index_rebuild()` as it is with a stand-in encoder: the configured model
(same name, same dimension) for every text it does not know, and bench.scale's synthetic vectors,
looked up, for the library's phrasings. The encoding the stand-in saves is measured separately
on a sample of the library's texts and reported as its own figure. Then the rebuilt index
serves `suggestions_for()` for mentions encoded by the real model, one at a time in this
process, and its recall@10 against exact search is measured on queries near library vectors.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bench.freshness import BRAND, WORDS, library_write  # sets Django up
from bench.scale import library
from kb.models import Brand
from suggestions.embedder import get_embedder, use_embedder
from suggestions.indexing import index_rebuild, library_snapshot
from suggestions.services import Mention, suggestions_for
from suggestions.serving import holder

ENCODE_SAMPLE = 2_000
MENTIONS = 300


class StandInEncoder:
    """The configured model, except for the texts given vectors up front."""

    def __init__(self, known: dict[str, np.ndarray]) -> None:
        self.model = get_embedder()
        self.name, self.dimension, self.known = self.model.name, self.model.dimension, known

    def encode(self, texts: Sequence[str], **options: Any) -> np.ndarray:
        if texts and all(text in self.known for text in texts):
            return np.stack([self.known[text] for text in texts])
        return self.model.encode(texts, **options)


class StepLog(logging.Handler):
    """Keeps the rebuild's own account of its steps (suggestions.indexing logs it)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    library_write(args.size)
    snapshot = library_snapshot()
    texts = list(snapshot.texts.values())
    vectors, queries = library(len(texts), queries=200)
    known = dict(zip(texts, vectors, strict=True))
    before_rebuild = peak_rss_gb()

    model = get_embedder()
    sample = texts[:: max(len(texts) // ENCODE_SAMPLE, 1)][:ENCODE_SAMPLE]
    started = time.perf_counter()
    model.encode(sample)
    encode_rate = len(sample) / (time.perf_counter() - started)

    steps = StepLog()
    logging.getLogger("suggestions.indexing").addHandler(steps)
    logging.getLogger("suggestions.indexing").setLevel(logging.INFO)
    with use_embedder(StandInEncoder(known)):
        started = time.perf_counter()
        version = index_rebuild()
        rebuild_s = time.perf_counter() - started
    rebuild_peak = peak_rss_gb()

    holder.forget()
    served = holder.get()
    brand = Brand.objects.get(key=BRAND)
    rng = np.random.default_rng(2)
    latencies = []
    for n in range(MENTIONS):
        words = " and the ".join(rng.choice(WORDS, 2, replace=False))
        text = f"@FreshBench the {words} went wrong again, number {n}"
        started = time.perf_counter()
        suggestions_for(mention=Mention(text=text, brand=brand))
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()

    ids = np.fromiter(snapshot.texts, dtype=np.int64, count=len(snapshot.texts))
    _, exact = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    _, found = served.index.search(queries, 10)
    recall = float(
        np.mean(
            [
                len(set(ids[row].tolist()) & set(hit.tolist())) / 10
                for row, hit in zip(exact, found, strict=True)
            ]
        )
    )

    result = {
        "size": args.size,
        "vectors": version.count,
        "index": served.index.kind,
        "rebuild_s_without_encoding": round(rebuild_s, 1),
        "rebuild_steps": steps.lines[-1:],
        "encode_texts_per_s": round(encode_rate, 1),
        "encoding_would_take_s": round(len(texts) / encode_rate, 1),
        "peak_rss_gb_before_rebuild": round(before_rebuild, 2),
        "peak_rss_gb": round(rebuild_peak, 2),
        "suggestion_ms_p50": round(statistics.median(latencies), 2),
        "suggestion_ms_p99": round(latencies[int(0.99 * (len(latencies) - 1))], 2),
        "recall_at_10": round(recall, 4),
        "load": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
