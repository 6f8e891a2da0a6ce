"""The ``Careline-Signature`` header every delivery carries:

    Careline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the secret>

A receiver recomputes the HMAC over the timestamp, a dot and the body exactly as received,
compares it in constant time, and refuses a timestamp too far from its own clock (replays).
``t`` is the moment of each attempt, so a retried delivery carries a fresh signature over the
same body and the same delivery id."""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Careline-Signature"


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed by ``secret``."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, timestamp: int, body: bytes) -> str:
    """The value of the ``Careline-Signature`` header for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={signature(secret=secret, timestamp=timestamp, body=body)}"
