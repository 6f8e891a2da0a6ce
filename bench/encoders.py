"""Which encoder should Careline serve: each candidate measured with the engine's own recipe.

    .venv/bin/python -m bench.encoders --model "" --model /work/models/all-mpnet-base-v2 \
        --model ",/work/models/all-mpnet-base-v2" --json var/bench/encoders.json

Each ``--model`` is a value of ``CARELINE_EMBEDDING_MODEL`` (empty: the bundled
all-MiniLM-L6-v2; a comma joins two models into one concatenated vector). For each one, throwaway
Careline instances (bench.run.Sandbox, with the setting in their environment) import a library
and answer exactly as the API would:
- BANKING77 10-shot top-1 and top-3 and full-library top-1 (every test message, ``manage.py
  evaluate``);
- abstention with 10 categories held out (bench.run.abstaining): answered correctly and
  abstained at the default threshold, and the threshold where the two are equal;
- real airline mentions, protocol 1 of shared/bench/airline-tweets (bench.airline): the ranking
  top-1, answered correctly, and the right issue visible in the top 3.

Then single-mention latency, in this process and interleaved so that every encoder sees the same
load: one BANKING77 test message at a time through ONNX Runtime on one thread (the graph the web
process serves, suggestions.onnx_encoder), the median, and its ratio to all-MiniLM-L6-v2's. For
each single model the same graph quantised to dynamic int8 (per tensor, and per channel) is
timed too, with its 10-shot top-1 by the engine's ranking (bench.ablation) beside the float
graph's, to see whether int8 holds.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from bench.ablation import accuracy, rankings
from bench.airline import DEFAULT_SOURCE as AIRLINE_SOURCE
from bench.airline import protocol_sample_library
from bench.alternatives import ENGINE
from bench.banking77 import DEFAULT_SOURCE, load
from bench.run import HELD_OUT, ROOT, abstaining, evaluated

LATENCY_WARMUP = 20
# onnxruntime's dynamic quantisations timed and scored beside each single model's float graph.
QUANTISATIONS: dict[str, dict[str, Any]] = {
    "int8": {"weight_type": "QInt8", "per_channel": False},
    "int8 per channel": {"weight_type": "QUInt8", "per_channel": True},
}


@contextlib.contextmanager
def configured(setting: str) -> Iterator[None]:
    """Sandboxes made inside take CARELINE_EMBEDDING_MODEL=setting from this environment."""
    previous = os.environ.get("CARELINE_EMBEDDING_MODEL")
    os.environ["CARELINE_EMBEDDING_MODEL"] = setting
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("CARELINE_EMBEDDING_MODEL", None)
        else:
            os.environ["CARELINE_EMBEDDING_MODEL"] = previous


def equal_point(curve: list[dict]) -> dict:
    """The point of an abstention curve where answered correctly and abstained are closest."""
    return min(curve, key=lambda point: abs(point["answered_correct"] - point["abstain_recall"]))


def quality(setting: str, source: Path, airline_source: Path) -> dict:
    """The product's figures with CARELINE_EMBEDDING_MODEL=setting, each printed as it is done
    (the full library, the slowest to build, last)."""
    figures: dict[str, Any] = {}

    def done(**found: Any) -> None:
        figures.update(found)
        print(json.dumps({"setting": setting, **found}), flush=True)

    with configured(setting):
        ten = evaluated(*load(source, 10))
        done(top1=ten["top1"], top3=ten["top3"], evaluate_p50_ms=ten["p50_ms"])
        held = abstaining(10, source)
        even = equal_point(held["curve"])
        done(
            holdout_answered_correct=held["answered_correct"],
            holdout_abstained=held["abstain_recall"],
            equal_point=even["answered_correct"],
            equal_point_threshold=even["threshold"],
        )
        airline = protocol_sample_library(airline_source, None)
        done(
            airline_tweets=airline["tweets"],
            airline_ranking_top1=airline["ranking_top1"],
            airline_answered_correct=airline["answered_correct"],
            airline_visible_top3=airline["visible_top3"],
        )
        done(full_top1=evaluated(*load(source, None))["top1"])
    return figures


@contextlib.contextmanager
def sampled(source: Path, messages: int | None) -> Iterator[Path]:
    """``source`` with a seeded sample of ``messages`` test rows (all of them when None)."""
    if not messages:
        yield source
        return
    with tempfile.TemporaryDirectory(prefix="banking77-") as folder:
        shutil.copy(source / "train.csv", Path(folder) / "train.csv")
        with open(source / "test.csv", newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            fields = reader.fieldnames or ["text", "category"]
        with open(Path(folder) / "test.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(random.Random(7).sample(rows, min(messages, len(rows))))
        yield Path(folder)


def model_dirs(setting: str) -> list[tuple[Path, str]]:
    """(directory, name) of each model a CARELINE_EMBEDDING_MODEL value names."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from suggestions.embedder import model_location, model_parts

    return [model_location(part) for part in model_parts(setting)]


def mention_encoders(settings_: list[str]) -> dict[str, Any]:
    """The ONNX Runtime mention encoders (one thread) of every model the settings name, by name,
    with each single model's dynamic int8 graphs beside it as "<name> <quantisation>"."""
    from onnxruntime import InferenceSession, SessionOptions
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    from suggestions.onnx_encoder import OnnxMentionEncoder, exported_graph

    cache = ROOT / "var" / "models"
    encoders: dict[str, Any] = {}
    for setting in settings_:
        for path, name in model_dirs(setting):
            if name in encoders:
                continue
            model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            encoder = OnnxMentionEncoder.build(model, cache_dir=cache, name=name, threads=1)
            if encoder is None:
                raise SystemExit(f"ONNX Runtime cannot serve {name}")
            encoders[name] = encoder
            graph = exported_graph(model, cache, name)
            for quantisation, how in QUANTISATIONS.items():
                quantised = cache / f"{graph.stem}-{quantisation.replace(' ', '-')}.onnx"
                if not quantised.exists():
                    quantize_dynamic(
                        str(graph),
                        str(quantised),
                        weight_type=getattr(QuantType, how["weight_type"]),
                        per_channel=how["per_channel"],
                    )
                options = SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                session = InferenceSession(str(quantised), options, providers=["CPUExecutionProvider"])
                encoders[f"{name} {quantisation}"] = OnnxMentionEncoder(
                    session, model.tokenizer, model.max_seq_length
                )
    return encoders


def latency(encoders: dict[str, Any], texts: list[str]) -> dict[str, float]:
    """Median ms of one mention per encoder, the encoders taking turns on each text."""
    for text in texts[:LATENCY_WARMUP]:
        for encoder in encoders.values():
            encoder.encode_one(text)
    timings: dict[str, list[float]] = {name: [] for name in encoders}
    for text in texts:
        for name, encoder in encoders.items():
            started = time.perf_counter()
            encoder.encode_one(text)
            timings[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in timings.items()}


def int8_holds(name: str, encoders: dict[str, Any], source: Path) -> dict[str, float]:
    """10-shot top-1 by the engine's ranking (bench.ablation), the float graph against each
    int8 one (library and mentions both encoded by the graph measured)."""
    from suggestions.text import normalize_mention

    intents, test = load(source, 10)
    keys = list(intents)
    examples = [normalize_mention(text) for key in keys for text in intents[key]]
    labels = np.array([index for index, key in enumerate(keys) for _ in intents[key]])
    titles = [key.replace("_", " ") for key in keys]
    messages = [normalize_mention(text) for text, _ in test]
    truth = np.array([keys.index(category) for _, category in test])

    def top1(encode: Callable[[list[str]], np.ndarray]) -> float:
        def batched(texts: list[str]) -> np.ndarray:
            return np.vstack([encode(texts[start : start + 8]) for start in range(0, len(texts), 8)])

        scores = rankings(batched(messages), batched(examples), batched(titles), labels)[ENGINE]
        return accuracy(scores, truth)[0]

    return {"float_top1": top1(encoders[name].encode_few)} | {
        f"{quantisation}_top1": top1(encoders[f"{name} {quantisation}"].encode_few)
        for quantisation in QUANTISATIONS
    }


def speed(rows: list[dict], source: Path, queries: int) -> None:
    """Fill each row's latency (and a single model's int8 figures) from one interleaved run."""
    encoders = mention_encoders([row["setting"] for row in rows])
    _, test = load(source, 10)
    medians = latency(encoders, [text for text, _ in random.Random(7).sample(test, queries)])
    baseline = medians.get("all-MiniLM-L6-v2", float("nan"))
    for row in rows:
        names = [name for _, name in model_dirs(row["setting"])]
        row["dimension"] = sum(encoders[name].encode_one("hello").shape[1] for name in names)
        row["latency_ms"] = sum(medians[name] for name in names)
        row["latency_ratio"] = row["latency_ms"] / baseline
        if len(names) == 1:
            row["int8"] = int8_holds(names[0], encoders, source) | {
                f"{quantisation}_ms": medians[f"{names[0]} {quantisation}"] for quantisation in QUANTISATIONS
            }
        print(json.dumps(row), flush=True)


def table(rows: list[dict]) -> str:
    lines = [
        "| encoder | dim | 10-shot top-1 | top-3 | full top-1 | held out: equal point "
        "| airline P1 ranking top-1 | answered correctly | visible top 3 | one mention, ms (x MiniLM) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        q = row.get("quality")
        cells = (
            f"{q['top1']:.3f} | {q['top3']:.3f} | {q['full_top1']:.3f} "
            f"| {q['equal_point']:.3f} at {q['equal_point_threshold']:.2f} "
            f"| {q['airline_ranking_top1']:.3f} | {q['airline_answered_correct']:.3f} "
            f"| {q['airline_visible_top3']:.3f}"
            if q
            else "- | - | - | - | - | - | -"
        )
        speed_cell = f"{row['latency_ms']:.1f} ({row['latency_ratio']:.2f}x)" if "latency_ms" in row else "-"
        lines.append(f"| {row['encoder']} | {row.get('dimension', '-')} | {cells} | {speed_cell} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model",
        action="append",
        help="A CARELINE_EMBEDDING_MODEL value (repeatable; default: the bundled).",
    )
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--airline-source", type=Path, default=AIRLINE_SOURCE)
    parser.add_argument("--latency-only", action="store_true", help="Skip the quality runs.")
    parser.add_argument("--no-latency", action="store_true", help="Skip the latency and int8 runs.")
    parser.add_argument(
        "--messages", type=int, help="Quality runs: a seeded sample of this many BANKING77 test messages."
    )
    parser.add_argument("--queries", type=int, default=300, help="Messages timed per encoder.")
    parser.add_argument("--json", type=Path, help="Also write the rows to this file.")
    args = parser.parse_args()
    settings_ = args.model or [""]
    rows: list[dict] = []
    for setting in settings_:
        names = [name for _, name in model_dirs(setting)]
        row: dict[str, Any] = {"encoder": " + ".join(names), "setting": setting}
        if not args.latency_only:
            with sampled(args.source, args.messages) as source:
                row["quality"] = quality(setting, source, args.airline_source)
            row["quality"]["messages"] = args.messages or "all"
        rows.append(row)
        print(json.dumps(row), flush=True)
    if not args.no_latency:
        speed(rows, args.source, args.queries)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
    print(f"\nheld out: {HELD_OUT} categories; latency: median of {args.queries} mentions, one thread\n")
    print(table(rows))
    print("\n| encoder | graph | 10-shot top-1 | one mention, ms (x its float graph) |\n|---|---|---|---|")
    for row in rows:
        if "int8" in row:
            i = row["int8"]
            print(f"| {row['encoder']} | float | {i['float_top1']:.3f} | {row['latency_ms']:.1f} |")
            for quantisation in QUANTISATIONS:
                ms = i[f"{quantisation}_ms"]
                print(
                    f"| {row['encoder']} | {quantisation} | {i[f'{quantisation}_top1']:.3f} "
                    f"| {ms:.1f} ({ms / row['latency_ms']:.2f}x) |"
                )


if __name__ == "__main__":
    main()
