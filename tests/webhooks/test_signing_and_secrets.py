"""The signature as documented, the retry schedule a receiver can count on, and secrets at rest."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from cryptography.fernet import InvalidToken

from config.crypto import secret_decrypt, secret_encrypt
from tests.webhooks.conftest import verify_signature
from webhooks.services import backoff_seconds
from webhooks.signing import signature_header


def test_the_header_is_the_documented_hmac_of_timestamp_dot_body():
    body = b'{"id":"d1","event":"mention.created"}'
    header = signature_header(secret="s3cret", timestamp=1764590400, body=body)

    expected = hmac.new(b"s3cret", b"1764590400." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1764590400,v1={expected}"


def test_a_receiver_refuses_a_tampered_body_or_an_old_timestamp():
    now = int(time.time())
    body = b'{"id":"d1"}'
    assert verify_signature(signature_header(secret="s", timestamp=now, body=body), body, "s")
    assert not verify_signature(signature_header(secret="s", timestamp=now, body=body), body + b" ", "s")
    assert not verify_signature(signature_header(secret="s", timestamp=now - 3600, body=body), body, "s")


def test_the_retries_outlast_a_receiver_down_for_an_hour(settings):
    """Even with the shortest jitter every time, the attempts span well over an hour."""
    attempts = settings.CARELINE_WEBHOOK_ATTEMPTS
    shortest = sum(backoff_seconds(n, jitter=0.0) for n in range(1, attempts))
    longest = sum(backoff_seconds(n, jitter=1.0) for n in range(1, attempts))

    assert shortest > 2 * 60 * 60
    assert longest < 6 * 60 * 60
    delays = [backoff_seconds(n, jitter=1.0) for n in range(1, attempts)]
    assert delays[:3] == [30.0, 60.0, 120.0]
    assert max(delays) == settings.CARELINE_WEBHOOK_BACKOFF_MAX_SECONDS


def test_a_secret_round_trips_and_each_encryption_differs():
    first, second = secret_encrypt("whsec-1"), secret_encrypt("whsec-1")

    assert first != second and "whsec-1" not in first
    assert secret_decrypt(first) == secret_decrypt(second) == "whsec-1"


def test_a_rotated_key_still_opens_old_secrets_and_a_removed_one_does_not(settings):
    settings.CARELINE_ENCRYPTION_KEYS = ["old key"]
    stored = secret_encrypt("whsec-1")
    settings.CARELINE_ENCRYPTION_KEYS = ["new key", "old key"]
    assert secret_decrypt(stored) == "whsec-1"
    settings.CARELINE_ENCRYPTION_KEYS = ["new key"]
    with pytest.raises(InvalidToken):
        secret_decrypt(stored)
