"""Throughput of `POST /api/v1/suggestions/` over HTTP: N clients asking at once, each waiting for
its answer before asking again (a closed loop), at several concurrencies in turn.

    .venv/bin/python -m bench.throughput --url http://127.0.0.1:8000 --token KEY
    .venv/bin/python -m bench.throughput --token KEY --clients 1,16 --seconds 20 --json

Each client is a thread with its own keep-alive connection (opened again when the server closes
it), asking the mentions of --texts in turn (default: the sample library's own examples). For
each concurrency it prints requests per second, p50 and p99 latency and the errors (any answer
but 200, or none), after --warmup seconds that are not counted. The machine's load average is
printed with each row: on a shared machine figures are only comparable within one run.

The server is whatever answers at --url (see the README's Throughput section for gunicorn on
PostgreSQL); nothing is started here. With --server-pid (gunicorn's master) and --database (the
server's PostgreSQL database), each row also gives the CPU milliseconds the workers and their
database connections spent per request: on a machine others are loading too, that figure moves
far less than the latency does.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LIBRARY = ROOT / "kb" / "fixtures" / "sample_library.json"


@dataclass
class Tally:
    """What the clients saw in the counted window."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, ms: float, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.latencies_ms.append(ms)
            else:
                self.errors += 1
                self.first_error = self.first_error or error


def sample_texts(path: Path = SAMPLE_LIBRARY) -> list[str]:
    """Every example phrasing of the library, as customers wrote them (two in five bring more
    than one topic, each encoded too): what an answer costs does not depend on how close the
    nearest example is."""
    library = json.loads(path.read_text())
    return [example for issue in library["issues"] for example in issue["examples"]]


def _cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def server_cpu_ms(server_pid: int | None, database: str | None) -> float:
    """CPU time so far of the gunicorn master and its workers, and of the PostgreSQL backends
    connected to ``database`` (found by their process titles)."""
    pids: list[int] = []
    if server_pid:
        pids.append(server_pid)
        for task in Path(f"/proc/{server_pid}/task").iterdir():
            pids += [int(child) for child in (task / "children").read_text().split()]
    if database:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if title.startswith("postgres: ") and f" {database} " in title:
                    pids.append(int(entry.name))
    total = 0.0
    for pid in pids:
        try:
            total += _cpu_ms(pid)
        except OSError:  # ended meanwhile
            continue
    return total


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def client(
    url: str,
    token: str,
    texts: list[str],
    offset: int,
    counting: threading.Event,
    stop: threading.Event,
    tally: Tally,
) -> None:
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    connection: http.client.HTTPConnection | None = None
    turn = offset
    while not stop.is_set():
        body = json.dumps({"text": texts[turn % len(texts)], "limit": 3})
        turn += 1
        started = time.perf_counter()
        error: str | None = None
        try:
            if connection is None:
                connection = http.client.HTTPConnection(
                    parts.hostname or "127.0.0.1", parts.port or 80, timeout=60
                )
            connection.request("POST", "/api/v1/suggestions/", body=body, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
            if answer.status != 200:
                error = f"{answer.status}: {payload[:200]!r}"
            elif "id" not in json.loads(payload):
                error = f"no id in {payload[:200]!r}"
            if answer.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
            if connection is not None:
                connection.close()
            connection = None
        elapsed = (time.perf_counter() - started) * 1000
        if counting.is_set():
            tally.record(elapsed, error)
    if connection is not None:
        connection.close()


def level(
    url: str,
    token: str,
    texts: list[str],
    clients: int,
    seconds: float,
    warmup: float,
    server_pid: int | None = None,
    database: str | None = None,
) -> dict[str, Any]:
    """Run ``clients`` closed-loop clients for warmup + seconds; figures for the counted part."""
    counting, stop, tally = threading.Event(), threading.Event(), Tally()
    threads = [
        threading.Thread(
            target=client, args=(url, token, texts, index * 7, counting, stop, tally), daemon=True
        )
        for index in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(warmup)
    cpu_before = server_cpu_ms(server_pid, database)
    counting.set()
    started = time.perf_counter()
    time.sleep(seconds)
    counting.clear()
    elapsed = time.perf_counter() - started
    cpu = server_cpu_ms(server_pid, database) - cpu_before
    stop.set()
    for thread in threads:
        thread.join(65)
    done = tally.latencies_ms
    return {
        "clients": clients,
        "requests": len(done),
        "per_second": round(len(done) / elapsed, 1),
        "p50_ms": round(statistics.median(done), 1) if done else None,
        "p99_ms": round(percentile(done, 0.99), 1) if done else None,
        "errors": tally.errors,
        "cpu_ms_per_request": round(cpu / len(done), 1) if done and (server_pid or database) else None,
        "first_error": tally.first_error,
        "load": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="An API token (manage.py drf_create_token USER).")
    parser.add_argument("--clients", default="1,2,4,8,16,32", help="Concurrencies, comma-separated.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Counted seconds per concurrency.")
    parser.add_argument("--warmup", type=float, default=2.0, help="Seconds per concurrency not counted.")
    parser.add_argument(
        "--texts", type=Path, help="A file of mentions, one a line (default: the sample library's)."
    )
    parser.add_argument("--server-pid", type=int, help="gunicorn's master, to count its workers' CPU time.")
    parser.add_argument(
        "--database", help="The server's PostgreSQL database, to count its backends' CPU time."
    )
    parser.add_argument(
        "--json", action="store_true", help="One JSON object per concurrency instead of a table."
    )
    args = parser.parse_args()
    texts = (
        [line.strip() for line in args.texts.read_text().splitlines() if line.strip()]
        if args.texts
        else sample_texts()
    )
    if not args.json:
        print("| clients | req/s | p50 ms | p99 ms | errors | server CPU ms/req | load |")
        print("|---|---|---|---|---|---|---|")
    for clients in [int(value) for value in args.clients.split(",") if value.strip()]:
        row = level(
            args.url, args.token, texts, clients, args.seconds, args.warmup, args.server_pid, args.database
        )
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(
                f"| {row['clients']} | {row['per_second']} | {row['p50_ms']} | {row['p99_ms']} "
                f"| {row['errors']} | {row['cpu_ms_per_request']} | {row['load']} |",
                flush=True,
            )
            if row["first_error"]:
                print(f"  first error: {row['first_error']}", flush=True)


if __name__ == "__main__":
    main()
