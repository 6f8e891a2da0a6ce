"""Real services for integration tests: the configured PostgreSQL, Redis and a `celery worker`
subprocess. A missing service fails the test; it never skips."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from accounts.services import token_create
from config.celery_app import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def real_services(transactional_db):
    """Asserts the suite runs against PostgreSQL and a reachable Redis broker."""
    assert connection.vendor == "postgresql", (
        "integration tests need DATABASE_URL=postgres://... (got %s)" % connection.vendor
    )
    broker = os.environ.get("CELERY_BROKER_URL", "")
    assert broker.startswith("redis://"), "integration tests need CELERY_BROKER_URL=redis://..."
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=2)
    celery_app.control.purge()
    return broker


class Worker:
    """A `celery -A config worker` process sharing this test's database and index directory."""

    def __init__(self, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self.env = env or {}  # overrides, such as a CARELINE_INDEX_DIR of its own
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CARELINE_INDEX_DIR": str(settings.CARELINE_INDEX_DIR),
            "HF_HUB_OFFLINE": "1",
            # The sync that refits the ranking after an edit's patch: soon, for tests to see it.
            "CARELINE_INDEX_COMPACT_SECONDS": "2",
            **self.env,
        }
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool=solo",
                    "--queues=celery,index-build",
                    "--loglevel=info",
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    f"test-{os.getpid()}@%h",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "worker exited:\n" + self.log.read_text()[-2000:]
            if celery_app.control.ping(timeout=0.5):
                return
        raise AssertionError("worker did not answer a ping:\n" + self.log.read_text()[-2000:])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        self.process = None


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(real_services, tmp_path):
    running = Worker(tmp_path / "worker.log")
    running.start()
    yield running
    running.stop()


@pytest.fixture
def api(editor):
    """The API as an editor, by token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=editor)}")
    return client


def wait_for(condition, timeout):
    """When ``condition()`` first held (time.monotonic()); fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"not true within {timeout} s")
