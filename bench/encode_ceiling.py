"""The most suggestions per second the encoder alone allows on this machine: no web, no database.

    .venv/bin/python -m bench.encode_ceiling [--processes 2] [--threads 8] [--seconds 20]

As gunicorn serves them (one process per core, several request threads each, every library on
one thread), each thread encodes one request's texts after another: the mention and its topics,
through the same BatchingEmbedder the web process uses, on the sample library's phrasings (as
bench.throughput asks them). Whatever a server does besides encoding comes on top, so
bench.throughput's figure at the same concurrency can only be lower.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import threading
import time

for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def requests_texts() -> list[list[str]]:
    from bench.throughput import sample_texts
    from suggestions.text import mention_topics, normalize_mention

    rows = []
    for text in sample_texts():
        mention = normalize_mention(text)
        rows.append([mention, *mention_topics(mention)])
    return rows


def encode_for(seconds: float, threads: int, results: multiprocessing.Queue) -> None:
    import django

    django.setup()
    from suggestions.batching import mention_encoder

    rows = requests_texts()
    encoder = mention_encoder()
    encoder.encode(["warming up"])
    done = [0] * threads
    stop = time.monotonic() + seconds

    def asking(thread: int) -> None:
        turn = thread * 37
        while time.monotonic() < stop:
            encoder.encode(rows[turn % len(rows)])
            turn += 1
            done[thread] += 1

    workers = [threading.Thread(target=asking, args=(thread,)) for thread in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put((sum(done) / seconds, encoder.texts / max(encoder.batches, 1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    options = parser.parse_args()
    rows = requests_texts()
    print(f"texts per request: mean {statistics.mean(len(row) for row in rows):.2f}")
    results: multiprocessing.Queue = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(target=encode_for, args=(options.seconds, options.threads, results))
        for _ in range(options.processes)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    figures = [results.get() for _ in processes]
    print(
        f"{options.processes} processes x {options.threads} threads: "
        f"{sum(rate for rate, _ in figures):.1f} requests/s encoded, "
        f"{statistics.mean(size for _, size in figures):.1f} texts per batch, load {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
