"""A full rebuild and a suggestion's latency at a library's size, through the engine itself.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/careline_scale CARELINE_INDEX_DIR=var/bench/scale-index \\
    .venv/bin/python -m bench.serving_scale --size 1000000 --json var/bench/serving-1m.json

The library is bench.freshness's (one brand, issues of TOPIC_SIZE phrasings with an approved
reply, written in bulk to the database DATABASE_URL names: use one of its own). Its vectors are
bench.scale's synthetic ones, each near its own issue's topic, because encoding a million
phrasings with the model would take hours on two cores; the encoding time is reported apart,
from the model's measured batch rate. Everything after the encoding is the engine's own full
rebuild: the index chooses its structure by size (IVF from CARELINE_ANN_MIN_VECTORS, its lists
trained on the issues' mean vectors and its probes tuned on the vectors), the issue head and the
calibration are fitted, the version is written and activated.

Then, in a new process that reads the active version as a web process does:
- `suggestions_for` on real mentions (the sample library's phrasings, so the encoder runs as in
  production: mention and topics), one at a time: p50 and p99, and the encoder's share of it
  (the first suggestion, which prepares the brand's subset of the index, apart);
- recall@10 of the served index's search against an exact search over the same vectors, on
  bench.scale's synthetic mentions (near a phrasing, as real mentions are near an example).
Peak memory is the rebuilding process's maximum resident set size, the library's generation
included; the serving process's is reported apart. (Timed in the process that had just built
the version, p50 was 15.9 ms against 10.8-11.2 and p99 54.6 against 34.5-39.2: its heap holds
the rebuild's leftovers.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bench.freshness import BRAND, library_write  # sets Django up
from bench.scale import QUERIES, library, recall
from bench.throughput import percentile, sample_texts
from kb.models import Brand
from suggestions.batching import mention_encoder
from suggestions.embedder import get_embedder
from suggestions.indexing import (  # the rebuild after encoding
    _issues_of,
    _save_and_activate,
    library_snapshot,
)
from suggestions.services import Mention, suggestions_for
from suggestions.serving import holder
from suggestions.text import mention_topics, normalize_mention
from suggestions.vector_index import VectorIndex


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def batch_rate(texts: list[str]) -> float:
    """Texts per second the rebuild's batch encoder manages here, on ``texts``."""
    embedder = get_embedder()
    embedder.encode(texts[:64], batch_size=64)
    started = time.perf_counter()
    embedder.encode(texts, batch_size=64)
    return len(texts) / (time.perf_counter() - started)


def rebuild(size: int) -> dict[str, Any]:
    started = time.perf_counter()
    snapshot = library_snapshot()
    ids = np.fromiter(snapshot.texts, dtype=np.int64, count=len(snapshot.texts))
    issues = _issues_of(ids, snapshot)
    # Each phrasing's synthetic vector is near its own issue's topic, as real phrasings are.
    _, topic_of = np.unique(issues, return_inverse=True)
    vectors, queries = library(len(ids), queries=QUERIES, topic_of=topic_of)
    read = time.perf_counter() - started
    index = VectorIndex(vectors.shape[1])
    index.index(vectors, ids, groups=issues)
    indexed = time.perf_counter() - started - read
    version = _save_and_activate(
        index, snapshot, kind="full", base=None, added=len(ids), removed=0, started=time.perf_counter()
    )
    if version is None:
        raise SystemExit("another version was activated meanwhile")
    fitted = time.perf_counter() - started - read - indexed
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth_rows = exact.search(queries, 10)
    served = holder.get()
    found = [np.array([vector for _, vector in served.search(query, 10)]) for query in queries]
    return {
        "phrasings": len(ids),
        "structure": index.kind,
        "library_read_s": round(read, 1),
        "index_build_s": round(indexed, 1),
        "ranking_fit_and_write_s": round(fitted, 1),
        "recall_at_10": round(recall(found, [ids[row] for row in truth_rows]), 4),
    }


def latencies(texts: list[str], brand: Brand) -> dict[str, Any]:
    """Timed after a first suggestion, reported apart: it prepares the brand's subset of the
    index (once per brand and version, as in a web process)."""
    encoder = mention_encoder()
    started = time.perf_counter()
    suggestions_for(mention=Mention(text=texts[0], brand=brand), limit=3)
    first_ms = (time.perf_counter() - started) * 1000
    answer_ms: list[float] = []
    encode_ms: list[float] = []
    for text in texts:
        started = time.perf_counter()
        suggestions_for(mention=Mention(text=text, brand=brand), limit=3)
        answer_ms.append((time.perf_counter() - started) * 1000)
        normalized = normalize_mention(text)
        started = time.perf_counter()
        encoder.encode([normalized, *mention_topics(normalized)])
        encode_ms.append((time.perf_counter() - started) * 1000)
    return {
        "mentions": len(texts),
        "first_suggestion_ms": round(first_ms, 1),
        "suggestion_p50_ms": round(statistics.median(answer_ms), 2),
        "suggestion_p99_ms": round(percentile(answer_ms, 0.99), 2),
        "encode_p50_ms": round(statistics.median(encode_ms), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--mentions", type=int, default=300)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--serve-only",
        action="store_true",
        help="time suggestions from the active version alone, and print them",
    )
    options = parser.parse_args()
    texts = sample_texts()
    mentions = (texts * (options.mentions // len(texts) + 1))[: options.mentions]
    if options.serve_only:
        print(
            json.dumps(
                latencies(mentions, Brand.objects.get(key=BRAND))
                | {"serving_rss_gb": round(peak_rss_gb(), 2)}
            )
        )
        return
    row: dict[str, Any] = {"size": options.size, "load_before": os.getloadavg()}
    started = time.perf_counter()
    library_write(options.size)
    row["library_written_s"] = round(time.perf_counter() - started, 1)
    rate = batch_rate(texts)
    row["encode_texts_per_s"] = round(rate, 1)
    row["encode_estimate_s"] = round(options.size / rate, 1)
    row.update(rebuild(options.size))
    row["peak_rss_gb"] = round(peak_rss_gb(), 2)
    served = subprocess.run(
        [sys.executable, "-m", "bench.serving_scale", "--serve-only", "--mentions", str(options.mentions)],
        check=True,
        capture_output=True,
        text=True,
    )
    row.update(json.loads(served.stdout.splitlines()[-1]))
    row["load_after"] = os.getloadavg()
    print(json.dumps(row, indent=2))
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
