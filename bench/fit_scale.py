"""What the ranking's fits cost as the library grows, and what the scalable fits do to quality.

    .venv/bin/python -m bench.fit_scale                                  # 10k and 100k
    nohup .venv/bin/python -m bench.fit_scale --sizes 1000000 --issue-sizes 50,1000 &
    .venv/bin/python -m bench.fit_scale --sizes '' --banking77           # quality only

Synthetic libraries: n unit phrasings of dimension 384 in issues of ``issue size`` phrasings
each (bench.scale's vectors: NOISE-spread around each issue's centre, the centres in families of
close ones), and mentions near random phrasings, perturbed further. Each fit (the issue head,
``head_fit``; the calibration replay, ``calibration_fit``) runs in a process of its own, so its
peak resident memory (``ru_maxrss``, the library and its making included) is its own, next to
the memory the library alone holds; its CPU seconds say what a loaded machine hides. ``exact``
forces the fits of small libraries (a logistic-regression head, every phrasing replayed in one
similarity matrix) at any size; ``engine`` is what suggestions.ranking chooses for that size.
The head's top-1 on 2,000 mentions is reported for both.

``--banking77`` asks BANKING77's test messages of two throwaway Carelines (bench.run.Sandbox):
the full library, and one lacking 10 categories (their messages must be abstained), each with
the fits as shipped and with the scalable fits forced (the discriminant head and a replay of a
3,000-phrasing sample, in blocks), through ``suggestions.evaluation.evaluate`` (what
``manage.py evaluate`` runs): top-1 and top-3, answered-correctly and abstained at the default
threshold, and the expected calibration error (10 bins) of the first candidate's confidence.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

from bench.scale import DIMENSION, NOISE, unit

MENTIONS = 2_000
QUERY_NOISE = 0.7  # as bench.scale's mentions: the nearest phrasing at cosine ~0.8
FORCED_REPLAY = 3_000  # phrasings replayed when BANKING77 is fitted the scalable way
# Issues come in families of FAMILY whose centres are close (cosine ~0.98 at spread 0.15), as a
# library's issues about one product are: random centres in 384 dimensions would be too easy.
FAMILY = 10
FAMILY_SPREAD = 0.15


def labelled_library(
    n: int, issue_size: int, *, mentions: int = MENTIONS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(vectors, issue ids, mentions, their issues): n phrasings in issues of ``issue_size``,
    generated in blocks so that 1M stays within its own 1.5 GB."""
    rng = np.random.default_rng(seed)
    issues = max(n // issue_size, 2)
    families = unit(rng.standard_normal((max(issues // FAMILY, 1), DIMENSION), dtype=np.float32))
    own = unit(rng.standard_normal((issues, DIMENSION), dtype=np.float32))
    centres = unit(families[np.arange(issues) % len(families)] + FAMILY_SPREAD * own)
    labels = np.arange(n, dtype=np.int64) % issues
    rng.shuffle(labels)
    vectors = np.empty((n, DIMENSION), dtype=np.float32)
    for start in range(0, n, 100_000):
        rows = min(100_000, n - start)
        noise = unit(rng.standard_normal((rows, DIMENSION), dtype=np.float32))
        vectors[start : start + rows] = unit(centres[labels[start : start + rows]] + NOISE * noise)
    near = rng.integers(0, n, mentions)
    noise = unit(rng.standard_normal((mentions, DIMENSION), dtype=np.float32))
    return vectors, labels, unit(vectors[near] + QUERY_NOISE * noise), labels[near]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_fit(fit: str, n: int, issue_size: int, way: str) -> dict[str, Any]:
    """Run one fit in this process and return its figures (what ``--one`` prints)."""
    from suggestions import ranking

    vectors, labels, mentions, truth = labelled_library(n, issue_size)
    library_mb = peak_mb()
    exact = {"exact_cells": sys.maxsize} if way == "exact" else {}
    started, cpu = time.perf_counter(), cpu_seconds()
    if fit == "head":
        head = ranking.head_fit(vectors, labels, **exact)
        took, cpu, peak = time.perf_counter() - started, cpu_seconds() - cpu, peak_mb()
        predicted = np.concatenate(
            [np.argmax(head.probability_rows(part), axis=1) for part in np.array_split(mentions, 20)]
        )
        quality: dict[str, Any] = {"head_top1": round(float((head.issue_ids[predicted] == truth).mean()), 4)}
    else:
        replay: dict[str, Any] = {"replayed": sys.maxsize, **exact} if way == "exact" else {}
        if way == "exact":
            ranking.DENSE_REPLAY_CELLS = sys.maxsize  # the one similarity matrix of old
        calibration = ranking.calibration_fit(vectors, labels, np.ones(n, dtype=bool), **replay)
        took, cpu, peak = time.perf_counter() - started, cpu_seconds() - cpu, peak_mb()
        quality = {"calibration": calibration.as_dict() if calibration else None}
    return {
        "fit": fit,
        "n": n,
        "issues": int(labels.max()) + 1,
        "way": way,
        "seconds": round(took, 1),
        "cpu_seconds": round(cpu, 1),  # both cores: about twice the seconds on an idle machine
        "library_mb": round(library_mb),
        "peak_mb": round(peak),
        **quality,
    }


def in_child(fit: str, n: int, issue_size: int, way: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.fit_scale", "--one", fit, str(n), str(issue_size), way],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    if done.returncode:
        return {"fit": fit, "n": n, "way": way, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.splitlines()[-1])


# In a Sandbox: the library imported by import_library is fitted as shipped, evaluated, then
# fitted again with the scalable ways forced and evaluated again, all in one process.
BANKING77_PROBE = r"""
import json, sys
import django
django.setup()
import numpy as np
from suggestions import ranking
from suggestions.evaluation import LabelledMessage, evaluate
from suggestions.indexing import index_rebuild
from suggestions.recalibration import expected_calibration_error
from suggestions.services import Mention, suggestions_for

messages = [LabelledMessage(row["text"], row["issue"]) for row in map(json.loads, open(sys.argv[1]))]


def measured(way):
    index_rebuild()
    quality = evaluate(messages).as_dict()
    confidence, right = [], []
    for message in messages:
        ranked = suggestions_for(mention=Mention(text=message.text), limit=1).ranked
        confidence.append(ranked[0].confidence if ranked else 0.0)
        right.append(bool(ranked) and ranked[0].issue["key"] == message.issue)
    quality["ece"] = round(expected_calibration_error(np.array(confidence), np.array(right)), 4)
    quality.pop("curve")
    return {"way": way, **quality}


rows = [measured("exact")]
ranking.EXACT_HEAD_CELLS = 0
ranking.REPLAY_PHRASINGS = int(sys.argv[2])
ranking.DENSE_REPLAY_CELLS = 0
rows.append(measured("scalable"))
print(json.dumps(rows))
"""


def banking77() -> list[dict[str, Any]]:
    from bench.banking77 import DEFAULT_SOURCE, library, load
    from bench.run import HELD_OUT, Sandbox, write_labelled

    intents, test = load(DEFAULT_SOURCE, None)
    held = set(random.Random(77).sample(sorted(intents), HELD_OUT))
    rows = []
    for name, kept, messages in (
        ("full", intents, test),
        (
            f"{HELD_OUT} held out",
            {key: examples for key, examples in intents.items() if key not in held},
            [(text, None if category in held else category) for text, category in test],
        ),
    ):
        box = Sandbox()
        try:
            (box.tmp / "library.json").write_text(json.dumps(library(kept)))
            write_labelled(box.tmp / "test.jsonl", messages)
            box.manage("migrate", "--noinput")
            box.manage("import_library", str(box.tmp / "library.json"))
            found = json.loads(
                box.python(BANKING77_PROBE, str(box.tmp / "test.jsonl"), str(FORCED_REPLAY)).splitlines()[-1]
            )
        finally:
            box.close()
        rows += [{"library": name, **row} for row in found]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated library sizes (none: '')")
    parser.add_argument("--issue-sizes", default="50", help="comma-separated phrasings per issue")
    parser.add_argument(
        "--exact-up-to", type=int, default=10_000, help="also run the exact fits up to this size"
    )
    parser.add_argument("--banking77", action="store_true", help="BANKING77 quality, exact against scalable")
    parser.add_argument("--one", nargs=4, metavar=("FIT", "N", "ISSUE_SIZE", "WAY"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        fit, n, issue_size, way = args.one
        print(json.dumps(one_fit(fit, int(n), int(issue_size), way)))
        return 0
    for n in [int(size) for size in args.sizes.split(",") if size]:
        for issue_size in [int(size) for size in args.issue_sizes.split(",")]:
            for fit in ("head", "calibration"):
                for way in ("exact", "engine") if n <= args.exact_up_to else ("engine",):
                    load = os.getloadavg()[0]
                    row = in_child(fit, n, issue_size, way)
                    print(
                        json.dumps(
                            {**row, "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2)}
                        ),
                        flush=True,
                    )
    if args.banking77:
        load = os.getloadavg()[0]
        for row in banking77():
            print(json.dumps({**row, "load_before": round(load, 2)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
