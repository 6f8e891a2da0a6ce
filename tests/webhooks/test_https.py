"""An https receiver is reached at the address checked while its certificate is verified against
the name in the URL (sent as SNI), as if the name had been connected to."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from console.services import mention_receive
from tests.webhooks.conftest import SECRET, verify_signature
from webhooks.models import Delivery
from webhooks.services import subscription_create

NAME = "receiver.careline.test"
REAL_GETADDRINFO = socket.getaddrinfo


def certificate_for(name: str, directory):
    """A self-signed certificate for ``name`` and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.crt", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_receiver(tmp_path):
    """An https server on loopback with a certificate for NAME; yields (port, requests seen, dir)."""
    cert_file, key_file = certificate_for(NAME, tmp_path)
    seen: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], seen, tmp_path
    server.shutdown()
    server.server_close()


@pytest.fixture
def name_resolves_to_loopback(monkeypatch, settings):
    settings.CARELINE_WEBHOOK_ALLOW_PRIVATE = True

    def getaddrinfo(host, port, *args, **kwargs):
        if host == NAME:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def push(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        mention_receive(text="my bag is lost", external_id="t-1", channel="twitter")
    return Delivery.objects.get()


def test_an_https_receiver_is_verified_by_its_name(
    editor, tls_receiver, name_resolves_to_loopback, monkeypatch, django_capture_on_commit_callbacks
):
    port, seen, directory = tls_receiver
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(directory / f"{NAME}.crt"))  # trust this receiver
    subscription_create(
        url=f"https://{NAME}:{port}/in", secret=SECRET, events=["mention.created"], created_by=editor
    )
    delivery = push(django_capture_on_commit_callbacks)

    assert (delivery.status, delivery.last_status_code) == ("delivered", 204)
    ((headers, body),) = seen
    assert headers["Host"] == f"{NAME}:{port}"
    assert verify_signature(headers["Careline-Signature"], body, SECRET)


def test_a_certificate_for_another_name_is_refused(
    editor, tls_receiver, name_resolves_to_loopback, monkeypatch, django_capture_on_commit_callbacks
):
    port, seen, directory = tls_receiver
    other_cert, _ = certificate_for("elsewhere.careline.test", directory)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other_cert))
    subscription_create(
        url=f"https://{NAME}:{port}/in", secret=SECRET, events=["mention.created"], created_by=editor
    )
    delivery = push(django_capture_on_commit_callbacks)

    assert (delivery.status, delivery.last_status_code) == ("pending", None)
    assert "certificate" in delivery.last_error.lower()
    assert seen == []
