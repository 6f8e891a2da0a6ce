"""A real HTTP receiver on this machine's loopback address, which records what it is sent and
can be down for a while (refusing connections) or answer errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks.models import Event


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """``mode``: "ok" answers 200, "error" answers 500, "slow" answers 200 after ``delay``
    seconds; ``down()`` closes the port (connections refused) until ``up()``."""

    mode: str = "ok"
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/careline"

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.mode == "slow":
                    time.sleep(receiver.delay)
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                self.send_response(500 if receiver.mode == "error" else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def events(self) -> list[tuple[int, str]]:
        """(mention id, event) of every delivery received, in arrival order."""
        return [(item.json["data"]["mention"]["id"], item.json["event"]) for item in self.received]


@pytest.fixture
def receiver():
    running = Receiver()
    running.up()
    yield running
    running.down()


@pytest.fixture
def allow_private(settings):
    """The local receiver is on loopback: allowed, as CARELINE_WEBHOOK_ALLOW_PRIVATE=1 would."""
    settings.CARELINE_WEBHOOK_ALLOW_PRIVATE = True


ALL_EVENTS = list(Event.values)
SECRET = "whsec-3f9a1c0d8e7b6a5f4e3d2c1b"


def verify_signature(header: str, body: bytes, secret: str, tolerance: int = 300) -> bool:
    """A receiver's check, as the documentation describes it: the header is
    ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the secret>``."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    timestamp = fields["t"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(expected, fields["v1"])
