"""Strict readers for settings taken from the environment: nonsense raises instead of guessing."""

from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off")


def envint(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None


def envfloat(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def envrate(name: str, default: str) -> str:
    """A request rate such as 600/min: a number, a slash, and sec, min, hour or day."""
    raw = os.environ.get(name) or default
    number, _, period = raw.strip().partition("/")
    if not number.isdigit() or period[:1] not in ("s", "m", "h", "d"):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a rate; write e.g. 600/min or 10/sec")
    return raw.strip()


def envcache(name: str, default: str) -> dict[str, str]:
    """A cache from a URL: redis://host:port/db (Django's RedisCache) or locmem:// (this process)."""
    raw = os.environ.get(name) or default
    if raw.startswith(("redis://", "rediss://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": raw}
    if raw.startswith("locmem://"):
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": raw[9:]}
    raise ImproperlyConfigured(f"{name}={raw!r} is not a cache URL; use redis://... or locmem://")


def envstorage(name: str, default: str) -> dict[str, Any] | None:
    """A Django STORAGES entry from a URL: s3://bucket[/prefix] (django-storages' S3Storage, for
    any S3-compatible store: CARELINE_INDEX_S3_ENDPOINT_URL and CARELINE_INDEX_S3_REGION name
    where; credentials come from boto3's usual chain, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
    or an instance role), or empty for none."""
    raw = (os.environ.get(name) or default).strip()
    if not raw:
        return None
    scheme, _, rest = raw.partition("://")
    bucket, _, prefix = rest.partition("/")
    if scheme != "s3" or not bucket:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a storage URL; use s3://bucket/prefix or leave it empty"
        )
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "location": prefix.strip("/"),
            "endpoint_url": envstr("CARELINE_INDEX_S3_ENDPOINT_URL", "") or None,
            "region_name": envstr("CARELINE_INDEX_S3_REGION", "") or None,
            # A version name that exists is refused, never overwritten (IndexStore checks).
            "file_overwrite": False,
            # Large files spill to a temporary file while they download instead of filling memory.
            "max_memory_size": 64 * 1024 * 1024,
        },
    }
