"""How soon an edit is searchable, with a real worker, at any library size.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/careline_fresh \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/5 CARELINE_INDEX_DIR=var/bench/fresh-index \\
    .venv/bin/python -m bench.freshness --size 100000 --edits 20 --json var/bench/freshness-100k.json

The library is synthetic: one brand, issues of TOPIC_SIZE phrasings, each with an approved reply,
written to the database in bulk (the database named by DATABASE_URL is created and migrated if
needed; use one of its own). Encoding a million phrasings with the model would take over half an
hour, so the first version is saved with bench.scale's synthetic vectors in their place, through
the engine's own IndexStore, with the entries the engine records (so a sync sees only what the
edits change). Then a `celery worker` process (its own process, the real model, the same
database and broker) serves the edits, while this process serves the index as a web process
does (suggestions.serving.holder, which looks for a new version or patch every POLL_SECONDS).

Each edit rewrites one random phrasing through kb.services and commits; the clock runs from the
commit until this process finds the new phrasing's vector among the 5 nearest to its own
embedding. Reported: median, p90 and max over the edits, and what the worker did meanwhile.
CARELINE_INDEX_COMPACT_SECONDS (default here: 30, as in production) decides when the worker's
sync refits the ranking over the patches; --compact-seconds 0 makes every edit start one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import django

django.setup()

import numpy as np  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.scale import DIMENSION, TOPIC_SIZE, library  # noqa: E402
from kb import services  # noqa: E402
from kb.models import Brand, Example, Issue, Response  # noqa: E402
from suggestions.embedder import get_embedder  # noqa: E402
from suggestions.entries import ENTRIES_FILE, VectorEntries  # noqa: E402
from suggestions.index_store import IndexStore  # noqa: E402
from suggestions.indexing import library_snapshot  # noqa: E402
from suggestions.models import ActiveIndex, IndexVersion  # noqa: E402
from suggestions.serving import holder  # noqa: E402
from suggestions.vector_index import VectorIndex  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BRAND = "fresh-bench"
WORDS = [
    *("flight", "bag", "refund", "seat", "card", "login", "delay"),
    *("gate", "lounge", "meal", "wifi", "booking", "upgrade", "miles"),
]


def library_write(size: int) -> None:
    """Issues and phrasings up to ``size`` phrasings (kept from an earlier run when they match)."""
    brand, _ = Brand.objects.get_or_create(
        key=BRAND, defaults={"name": "Fresh Bench", "handle": "@FreshBench"}
    )
    have = Example.objects.filter(issue__brand=brand).count()
    if have == size:
        return
    Example.objects.filter(issue__brand=brand).delete()
    Response.objects.filter(issue__brand=brand).delete()
    Issue.objects.filter(brand=brand).delete()
    rng = random.Random(0)
    issues = Issue.objects.bulk_create(
        Issue(key=f"fresh-{n}", brand=brand, title=f"Topic {n}: {' '.join(rng.sample(WORDS, 3))}")
        for n in range(max(size // TOPIC_SIZE, 1))
    )
    now = timezone.now()
    Response.objects.bulk_create(
        Response(
            key=f"fresh-{issue.pk}-any",
            issue=issue,
            text="We are on it. ^{{ agent_initials }}",
            status=Response.Status.APPROVED,
            approved_at=now,
        )
        for issue in issues
    )
    for start in range(0, size, 20_000):
        Example.objects.bulk_create(
            Example(issue=issues[row % len(issues)], text=f"phrasing {row} {' '.join(rng.sample(WORDS, 5))}")
            for row in range(start, min(size, start + 20_000))
        )


def version_write() -> tuple[IndexVersion, float]:
    """Save and activate a version of the library as it is, with synthetic vectors."""
    started = time.perf_counter()
    snapshot = library_snapshot()
    ids = np.fromiter(snapshot.texts, dtype=np.int64, count=len(snapshot.texts))
    dimension = get_embedder().dimension
    if dimension != DIMENSION:
        raise SystemExit(f"the synthetic vectors have {DIMENSION} dimensions, the model {dimension}")
    vectors, _ = library(len(ids), queries=1)
    index = VectorIndex(dimension)
    index.index(vectors, ids)
    built = time.perf_counter() - started
    store = IndexStore()
    name = store.new_version()
    store.write(
        name,
        index,
        {
            "model": get_embedder().name,
            "library_digest": snapshot.digest,
            "kind": "full",
            "issue_brands": {str(issue): brand for issue, brand in snapshot.brands.items()},
            "calibration": None,
        },
        attachments={
            ENTRIES_FILE: VectorEntries.of(ids.tolist(), snapshot.issues, snapshot.hashes_by_id).to_bytes()
        },
    )
    with transaction.atomic():
        version = IndexVersion.objects.create(
            version=name,
            kind="full",
            model=get_embedder().name,
            dimension=dimension,
            count=len(ids),
            library_digest=snapshot.digest,
            added=len(ids),
            took_ms=built * 1000,
        )
        pointer, _ = ActiveIndex.objects.select_for_update().get_or_create(pk=1)
        pointer.version = version
        pointer.save()
    return version, built


def worker_start(log: Path, compact_seconds: int) -> subprocess.Popen:
    env = {**os.environ, "CARELINE_INDEX_COMPACT_SECONDS": str(compact_seconds)}
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--loglevel=info",
        "--concurrency=2",
        "--queues=celery,index-build",
        "--without-gossip",
        "--without-mingle",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def worker_wait(worker: subprocess.Popen, log: Path, timeout: float = 180.0) -> None:
    """Until the worker answers a ping (it loads the model first)."""
    from config.celery_app import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited; see {log}")
        if app.control.ping(timeout=0.5):
            return
    raise SystemExit(f"the worker did not start; see {log}")


def searchable(example_id: int, query: np.ndarray) -> bool:
    hits = holder.get().search(query, 5)
    return any(vector == example_id for _, vector in hits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--compact-seconds", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if connection.vendor != "postgresql" or not os.environ.get("CELERY_BROKER_URL"):
        sys.exit("Run against PostgreSQL and a real broker: set DATABASE_URL and CELERY_BROKER_URL.")
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    library_write(args.size)
    written = time.perf_counter() - started
    version, built = version_write()
    holder.get()  # loaded as a web process would at start
    log = Path(os.environ.get("CARELINE_INDEX_DIR", "var")).parent / f"freshness-worker-{args.size}.log"
    worker = worker_start(log, args.compact_seconds)
    try:
        worker_wait(worker, log)
        rng = random.Random(1)
        examples = list(Example.objects.filter(issue__brand__key=BRAND).values_list("pk", flat=True)[:50_000])
        delays: list[float] = []
        for edit in range(args.edits):
            example = Example.objects.get(pk=rng.choice(examples))
            what = " and the ".join(rng.sample(WORDS, 2))
            text = f"edit {edit}: the {what} went wrong again {rng.random():.6f}"
            query = get_embedder().encode([text])[0]
            with transaction.atomic():
                services.example_update(example=example, text=text)
            committed = time.perf_counter()
            while not searchable(example.pk, query):
                if time.perf_counter() - committed > args.timeout:
                    raise SystemExit(f"edit {edit} not searchable after {args.timeout} s; see {log}")
                time.sleep(0.02)
            delays.append(time.perf_counter() - committed)
            print(f"edit {edit}: searchable after {delays[-1]:.2f} s", flush=True)
            time.sleep(rng.uniform(0.5, 2.0))
    finally:
        worker.terminate()  # a sync under way at a million phrasings takes minutes to finish
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
    delays.sort()
    result: dict[str, Any] = {
        "size": args.size,
        "vectors": version.count,
        "library_written_s": round(written, 1),
        "first_version_built_s": round(built, 1),
        "compact_seconds": args.compact_seconds,
        "edits": len(delays),
        "median_s": round(statistics.median(delays), 2),
        "p90_s": round(delays[int(0.9 * (len(delays) - 1))], 2),
        "max_s": round(delays[-1], 2),
        "versions_built_meanwhile": IndexVersion.objects.filter(pk__gt=version.pk).count(),
        "load": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
