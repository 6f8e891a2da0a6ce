"""Schema-driven fuzzing: every operation in /api/schema/, fed by schemathesis, must never answer
a 5xx. Runs against a real gunicorn on a free port, with a database of its own (SQLite in a
temporary directory) holding the sample library, its index built with the real model, and a
superuser's token, so every operation is reachable. Bounded and seeded: the same inputs each run.

    .venv/bin/python tests/fuzz/run_schemathesis.py [--max-examples N] [--seed S] [--keep]

Exit status: schemathesis's (0 when nothing failed). Reports (JUnit, and a pytest file that
replays each failure) land in var/fuzz/."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SAMPLE_LIBRARY = ROOT / "kb" / "fixtures" / "sample_library.json"
REPORTS = ROOT / "var" / "fuzz"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def manage(env: dict[str, str], *args: str) -> str:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    print(f"manage.py {args[0]}: {time.monotonic() - began:.0f} s", flush=True)
    return done.stdout


def sample_careline(env: dict[str, str], username: str) -> str:
    """Migrate the database ``env`` names, import the sample library, build its index, and make
    a superuser ``username``; return a new API token of theirs."""
    manage(env, "migrate", "--noinput")
    manage(env, "import_library", str(SAMPLE_LIBRARY))
    manage(env, "rebuild_index")
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        f"User.objects.create_superuser({username!r}, 'fuzz@example.com', 'fuzz-password-not-used')",
    )
    # The contract's command: it prints a new token; the token is its longest word.
    return max(manage(env, "drf_create_token", username).split(), key=len)


def wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=10, help="test cases per operation")
    parser.add_argument("--seed", type=int, default=12, help="random seed (same seed, same inputs)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and index")
    options = parser.parse_args()

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="careline-fuzz-"))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work / 'fuzz.sqlite3'}",
        "CARELINE_INDEX_DIR": str(work / "index"),
        "HF_HUB_OFFLINE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    # Thousands of calls a minute from one token: rate limits would answer most of them 429.
    for rate in ("CARELINE_API_RATE", "CARELINE_API_ANON_RATE", "CARELINE_SUGGESTION_RATE"):
        env[rate] = "1000000/min"
    # Tasks go to an in-memory broker nobody reads: a fuzzed write returns without re-embedding
    # the library in-process (the suite covers the index tasks); the index is built once below.
    env["CELERY_BROKER_URL"] = "memory://localhost/"

    token = sample_careline(env, "fuzz")
    print(f"set up in {time.monotonic() - started:.0f} s (database and index in {work})", flush=True)

    returncode = 1
    with open(work / "gunicorn.log", "wb") as log:
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base}/healthz", server)
            REPORTS.mkdir(parents=True, exist_ok=True)
            fuzzing = time.monotonic()
            # Its cache directory goes with the database.
            returncode = subprocess.run(schemathesis(base, token, options), cwd=work, env=env).returncode
            print(f"fuzzed in {time.monotonic() - fuzzing:.0f} s, {time.monotonic() - started:.0f} s in all")
        finally:
            server.terminate()
            server.wait(timeout=30)
    if returncode:
        print(f"server log: {work / 'gunicorn.log'}", flush=True)
    elif not options.keep:
        shutil.rmtree(work, ignore_errors=True)
    return returncode


def schemathesis(base: str, token: str, options: argparse.Namespace) -> list[str]:
    """Only server errors fail the run: the schema leaves out many 4xx, which are the point."""
    return [
        str(BIN / "st"),
        "run",
        f"{base}/api/schema/?format=json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(options.max_examples),
        "--seed",
        str(options.seed),
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        # Nothing to fuzz (it takes no input), and each call re-embeds the whole library.
        "--exclude-path",
        "/api/v1/index/rebuild/",
        "--request-timeout",
        "60",
        "--header",
        f"Authorization: Token {token}",
        "--report",
        "junit,pytest",
        "--report-dir",
        str(REPORTS),
    ]


if __name__ == "__main__":
    sys.exit(main())
