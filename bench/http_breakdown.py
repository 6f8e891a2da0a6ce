"""Where a suggestion request's time goes, layer by layer, against the floor.

    .venv/bin/python -m bench.http_breakdown                    # BANKING77 10-shot, as bench.run
    .venv/bin/python -m bench.http_breakdown --library sample   # the shipped sample library
    .venv/bin/python -m bench.http_breakdown --profile var/http.svg   # also py-spy the server

In a throwaway Careline (bench.run.Sandbox) the same mentions are asked each way, timed per
mention, medians printed: the floor (bench.run's: ONNX Runtime on one thread + a flat faiss
search, no Django), the encoder alone, the engine (`suggestions_for`: encode, search, ranking,
live-draft checks and rendering), the engine storing what it answered (`suggestion_create`),
the whole Django stack through its test client (middleware, token authentication, throttles,
DRF), and `POST /api/v1/suggestions/` to gunicorn (one worker, started as bench.run starts it)
over a socket as bench.run times it. The layers are interleaved mention by mention, so a
neighbour's load falls on all of them alike.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

from bench.banking77 import DEFAULT_SOURCE, library, load
from bench.run import ROOT, Sandbox

SAMPLE_TEXTS = [
    "my flight got cancelled and nobody can rebook me",
    "where is my bag, it never came off the belt in lisbon",
    "been on hold for two hours, is anyone there",
    "can I bring my cat in the cabin",
]

PROBE = r"""
import json, sys, time, urllib.request
import django
django.setup()
import faiss, numpy as np
from django.contrib.auth import get_user_model
from django.test import Client
from knox.models import AuthToken
from suggestions.embedder import get_embedder
from suggestions.services import Mention, suggestion_create, suggestions_for

texts = json.load(open(sys.argv[1]))
user = get_user_model().objects.create_superuser("probe", "probe@example.com", "probe-password-1")
_, token = AuthToken.objects.create(user)
client = Client(HTTP_AUTHORIZATION=f"Token {token}")
faiss.omp_set_num_threads(1)  # the floor's search, as bench.run's; the server sets its own
embedder = get_embedder()
onnx = embedder._onnx
vectors, _ = __import__("suggestions.serving", fromlist=["holder"]).holder.get().index.vectors()
flat = faiss.IndexFlatIP(vectors.shape[1])
flat.add(vectors)
ways = {
    "encode": lambda text: embedder.encode([text]),
    "suggestions_for": lambda text: suggestions_for(mention=Mention(text=text)),
    "suggestion_create": lambda text: suggestion_create(mention=Mention(text=text)),
    "django_post": lambda text: client.post(
        "/api/v1/suggestions/", data=json.dumps({"text": text, "limit": 3}), content_type="application/json"
    ),
}
def http(text):
    request = urllib.request.Request(
        f"http://127.0.0.1:{sys.argv[2]}/api/v1/suggestions/",
        data=json.dumps({"text": text, "limit": 3}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()
ways["http"] = http
if onnx is not None:
    ways = {"floor": lambda text: flat.search(onnx.encode_one(text), 10), **ways}
times = {name: [] for name in ways}
for text in texts[:20]:
    for way in ways.values():
        way(text)
for text in texts:
    for name, way in ways.items():
        started = time.perf_counter()
        way(text)
        times[name].append((time.perf_counter() - started) * 1000)
print(json.dumps(times))
"""


def texts_for(name: str, queries: int, box: Sandbox) -> list[str]:
    if name == "sample":
        box.manage("import_library", "kb/fixtures/sample_library.json")
        return (SAMPLE_TEXTS * (queries // len(SAMPLE_TEXTS) + 1))[:queries]
    intents, test = load(DEFAULT_SOURCE, 10)
    (box.tmp / "library.json").write_text(json.dumps(library(intents)))
    box.manage("import_library", str(box.tmp / "library.json"))
    return [text for text, _ in random.Random(7).sample(test, queries)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--library", choices=["banking77", "sample"], default="banking77")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--profile", type=Path, help="py-spy the server while it is timed (an SVG).")
    args = parser.parse_args()
    box = Sandbox()
    try:
        box.manage("migrate", "--noinput")
        texts = texts_for(args.library, args.queries, box)
        box.manage("rebuild_index", "--if-stale")
        (box.tmp / "texts.json").write_text(json.dumps(texts))
        box.serve()
        spy = None
        if args.profile and box.server:
            worker = subprocess.run(
                ["pgrep", "-P", str(box.server.pid)], capture_output=True, text=True, check=False
            ).stdout.split()
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "-p",
                    worker[0],
                    "-o",
                    str(args.profile),
                    "-r",
                    "500",
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        times = json.loads(box.python(PROBE, str(box.tmp / "texts.json"), str(box.port)).splitlines()[-1])
        if spy is not None:
            spy.send_signal(2)
            spy.wait(60)
    finally:
        box.close()
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians.get("floor", medians["encode"])
    print(f"{args.library}, {len(texts)} mentions, cwd {ROOT}")
    print("| layer | median ms | ratio to floor |")
    print("|---|---|---|")
    for name, value in medians.items():
        print(f"| {name} | {value:.2f} | {value / base:.2f} |")


if __name__ == "__main__":
    main()
