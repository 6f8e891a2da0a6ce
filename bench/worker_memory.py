"""Memory per gunicorn worker: RSS and PSS of each process (from /proc/PID/smaps_rollup) with 1,
2 and 4 workers, with and without preload_app, on one throwaway Careline (SQLite, the sample
library, its index built with the real model).

    .venv/bin/python -m bench.worker_memory [--workers 1 2 4] [--modes fork preload]

"fork" starts gunicorn with preload_app off (each worker imports the app and loads the model
itself); "preload" with it on (gunicorn.conf.py's setting: the master loads them once, before
forking). Each worker is warmed with suggestion requests (its index loaded) before it is read.
PSS shares each page among the processes mapping it, so the sum over master and workers is what
the server costs; "per added worker" is (sum at the most workers - sum at one) / (extra workers).
Worker figures are medians over the workers. Prints a Markdown table, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.fuzz.run_schemathesis import BIN, ROOT, free_port, sample_careline, wait_until_up

MIB = 1024
FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty")


def smaps(pid: int) -> dict[str, float]:
    """Rss, Pss and Private (clean + dirty) of a process, in MiB."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if parts and parts[0].rstrip(":") in FIELDS:
                values[parts[0].rstrip(":")] = int(parts[1]) / MIB
    with open(f"/proc/{pid}/maps") as fh:
        torch = "libtorch" in fh.read()
    return {
        "rss": values["Rss"],
        "pss": values["Pss"],
        "private": values["Private_Clean"] + values["Private_Dirty"],
        "torch": torch,
    }


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(child) for child in fh.read().split()]


def suggest(base: str, token: str, text: str) -> None:
    request = urllib.request.Request(
        f"{base}/api/v1/suggestions/",
        data=json.dumps({"text": text}).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()


def measure(env: dict[str, str], work: Path, token: str, workers: int, preload: bool) -> dict:
    """Start gunicorn, warm every worker, read each process, stop it."""
    config = work / f"gunicorn-{'preload' if preload else 'fork'}.py"
    # The project's settings, then preload_app as this run wants it.
    config.write_text(f"exec(open({str(ROOT / 'gunicorn.conf.py')!r}).read())\npreload_app = {preload!r}\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    command = [str(BIN / "gunicorn"), "config.wsgi", "-c", str(config), "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--timeout", "300"]
    with open(work / "gunicorn.log", "ab") as log:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"{base}/healthz", server, seconds=300)
        up = time.monotonic() - started
        # Enough requests that every worker has answered several (and loaded the index).
        for number in range(12 * workers):
            suggest(base, token, f"my card never arrived, order {number}")
        time.sleep(1)
        pids = children(server.pid)
        return {
            "workers": workers,
            "preload": preload,
            "up_s": up,
            "master": smaps(server.pid),
            "each": [smaps(pid) for pid in pids],
            "load": os.getloadavg(),
        }
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--modes", nargs="+", choices=["fork", "preload"], default=["fork", "preload"])
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="careline-memory-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work / 'memory.sqlite3'}",
        "CARELINE_INDEX_DIR": str(work / "index"),
        "HF_HUB_OFFLINE": "1",
        "CELERY_BROKER_URL": "memory://localhost/",
        "CARELINE_SUGGESTION_RATE": "1000000/min",
        "CARELINE_API_RATE": "1000000/min",
    }
    token = sample_careline(env, "memory")
    runs = [
        measure(env, work, token, n, mode == "preload") for mode in options.modes for n in options.workers
    ]
    print(
        "| preload | workers | up (s) | master RSS / PSS | worker RSS | worker PSS | worker private "
        "| PSS, all processes | torch in workers | load (1 min) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        each = run["each"]

        def median(key: str, each: list[dict] = each) -> float:
            values = sorted(item[key] for item in each)
            return values[len(values) // 2]

        total = run["master"]["pss"] + sum(item["pss"] for item in each)
        run["total_pss"] = total
        print(
            f"| {'on' if run['preload'] else 'off'} | {run['workers']} | {run['up_s']:.1f} "
            f"| {run['master']['rss']:.0f} / {run['master']['pss']:.0f} MiB | {median('rss'):.0f} MiB "
            f"| {median('pss'):.0f} MiB | {median('private'):.0f} MiB | {total:.0f} MiB "
            f"| {'yes' if any(item['torch'] for item in each) else 'no'} | {run['load'][0]:.2f} |"
        )
    for mode in options.modes:
        mine = sorted(
            (run for run in runs if run["preload"] == (mode == "preload")), key=lambda run: run["workers"]
        )
        if len(mine) > 1:
            added = (mine[-1]["total_pss"] - mine[0]["total_pss"]) / (
                mine[-1]["workers"] - mine[0]["workers"]
            )
            print(f"\npreload {'on' if mode == 'preload' else 'off'}: {added:.0f} MiB PSS per added worker")
    (work / "runs.json").write_text(json.dumps(runs, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
