"""A fleet on parts people already run: two web machines (gunicorn, each with its own index
cache) and a worker machine (a Celery worker with its own cache) share index versions only
through S3-compatible object storage (moto's S3 server on loopback) and the PostgreSQL database.
What the worker indexes is served by both web machines within seconds, over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from accounts.services import token_create
from config.env import envstorage
from suggestions.index_store import STORAGE_ALIAS
from suggestions.indexing import active_version
from suggestions.selectors import index_status
from tests.fuzz.run_schemathesis import BIN, free_port, wait_until_up
from tests.integration.conftest import ROOT, Worker, _database_url, wait_for
from tests.integration.test_index_follows_library import NEW_PHRASING, library  # noqa: F401  (a fixture)

BUCKET = "careline-fleet"
PREFIX = "index"


@pytest.fixture
def object_storage(monkeypatch, settings, tmp_path):
    """An S3 server on loopback with an empty bucket, configured as the index storage of this
    process (a machine of its own, caching in tmp_path / "admin") and of every process it starts."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "fleet",
        "AWS_SECRET_ACCESS_KEY": "fleet-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "CARELINE_INDEX_STORAGE": f"s3://{BUCKET}/{PREFIX}",
        "CARELINE_INDEX_S3_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {**settings.STORAGES, STORAGE_ALIAS: envstorage("CARELINE_INDEX_STORAGE", "")}
    settings.CARELINE_INDEX_DIR = tmp_path / "admin"
    yield s3
    server.stop()


class WebMachine:
    """`gunicorn config.wsgi` with a cache directory of its own, on a free port."""

    def __init__(self, name: str, tmp_path: Path) -> None:
        self.cache = tmp_path / name
        self.log = tmp_path / f"{name}.log"
        self.url = f"http://127.0.0.1:{free_port()}"
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "CARELINE_INDEX_DIR": str(self.cache),
            "HF_HUB_OFFLINE": "1",
        }
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "config.wsgi", "--bind", self.url[7:], "--workers", "1"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def ready(self) -> dict:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=5) as answer:
                return json.loads(answer.read())
        except OSError:
            return {}

    def suggested(self, token: str, text: str) -> list[str]:
        request = urllib.request.Request(
            f"{self.url}/api/v1/suggestions/",
            data=json.dumps({"text": text, "brand": "acme-air"}).encode(),
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return [item["response"] for item in json.loads(answer.read())["suggestions"]]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


@pytest.fixture
def fleet(object_storage, library, tmp_path):  # noqa: F811
    """The worker machine and two web machines, each serving the version the library's set-up
    built (written to the bucket by this process, so fetched by every machine)."""
    worker = Worker(tmp_path / "worker.log", env={"CARELINE_INDEX_DIR": str(tmp_path / "worker")})
    worker.start()
    webs = [WebMachine("web-a", tmp_path), WebMachine("web-b", tmp_path)]
    try:
        for web in webs:
            wait_until_up(f"{web.url}/healthz", web.process)
        yield worker, webs
    finally:
        for web in webs:
            web.stop()
        worker.stop()


def served_versions(webs: list[WebMachine]) -> list[str | None]:
    return [web.ready().get("index", {}).get("version") for web in webs]


def test_what_the_worker_indexes_is_served_by_every_web_machine_through_object_storage(
    fleet,
    object_storage,
    library,  # noqa: F811  (the fixture imported above)
    editor,
    api,
    tmp_path,
):
    _worker, webs = fleet
    token = token_create(user=editor)
    wait_for(lambda: index_status()["fresh"], timeout=60)  # the set-up's own sync tasks settle
    wait_for(lambda: served_versions(webs) == [active_version().version] * 2, timeout=60)
    assert all("lost-bag-reply" not in web.suggested(token, NEW_PHRASING)[:1] for web in webs)

    example = library["lost-bag"].issue.examples.first()
    saved = time.monotonic()
    answer = api.patch(f"/api/v1/examples/{example.pk}/", {"text": NEW_PHRASING}, format="json")
    assert answer.status_code == 200, answer.content
    edited = wait_for(
        lambda: all(web.suggested(token, NEW_PHRASING)[:1] == ["lost-bag-reply"] for web in webs),
        timeout=30,
    )
    print(f"an edit was served by both web machines {edited - saved:.2f} s after it was saved")

    before = active_version().version
    asked = time.monotonic()
    answer = api.post("/api/v1/index/rebuild/")
    assert answer.status_code == 202, answer.content
    wait_for(lambda: active_version().version != before and active_version().kind == "full", timeout=120)
    rebuilt = active_version().version
    served = wait_for(lambda: served_versions(webs) == [rebuilt] * 2, timeout=30)
    print(f"a rebuild was served by both web machines {served - asked:.2f} s after it was asked for")

    # The worker wrote it to the bucket; each web machine fetched its own copy from there.
    keys = {item["Key"] for item in object_storage.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {f"{PREFIX}/{rebuilt}/index.faiss", f"{PREFIX}/{rebuilt}/meta.json"} <= keys
    for machine in ("worker", "web-a", "web-b"):
        assert (tmp_path / machine / rebuilt / "index.faiss").is_file(), machine
    assert not (tmp_path / "admin" / rebuilt).exists()  # this process wrote none of it
