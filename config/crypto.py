"""Secrets kept at rest, encrypted: what Careline must read back in full to use (a webhook's
signing secret, a channel's credentials) but never show again.

Fernet (AES-128-CBC with an HMAC-SHA256, from the ``cryptography`` package) keyed by
CARELINE_ENCRYPTION_KEYS: the first key encrypts, every key decrypts, so a key is rotated by
putting the new one first and re-saving. Each key is stretched with HKDF, so any long random
string will do; by default the one key is DJANGO_SECRET_KEY.
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["InvalidToken", "secret_decrypt", "secret_encrypt"]


def secret_encrypt(plain: str) -> str:
    """``plain`` encrypted with the current key, as text fit for a database column."""
    return _fernet(tuple(settings.CARELINE_ENCRYPTION_KEYS)).encrypt(plain.encode()).decode("ascii")


def secret_decrypt(token: str) -> str:
    """What ``secret_encrypt`` was given. Raises InvalidToken when no configured key opens it
    (a key removed too early, or a tampered value)."""
    return _fernet(tuple(settings.CARELINE_ENCRYPTION_KEYS)).decrypt(token.encode("ascii")).decode()


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_derive(key)) for key in keys])


def _derive(key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"careline-secrets-at-rest")
    return base64.urlsafe_b64encode(hkdf.derive(key.encode()))
