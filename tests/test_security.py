"""`manage.py check --deploy` is clean with the production settings the README documents; a
plain DJANGO_DEBUG=0 run still answers over HTTP (no HTTPS redirect unless asked)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import envcache, envrate

ROOT = Path(__file__).resolve().parents[1]

# The README's production security settings.
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "careline.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_SECURE_HSTS_PRELOAD": "1",
}


def _check_deploy(**env: str) -> subprocess.CompletedProcess:
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("DJANGO_")},
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_deploy_is_clean_with_the_production_settings():
    checked = _check_deploy(**PRODUCTION)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues" in checked.stdout


def test_a_plain_production_run_is_told_what_https_needs():
    checked = _check_deploy(DJANGO_DEBUG="0")

    assert "security.W008" in checked.stderr  # HTTPS redirect: off unless asked
    assert "security.W004" not in checked.stderr  # HSTS is on
    assert "security.W012" not in checked.stderr and "security.W016" not in checked.stderr  # cookies


def test_the_rate_limit_cache_and_rates_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CARELINE_CACHE_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("CARELINE_API_RATE", "1200/min")
    assert envcache("CARELINE_CACHE_URL", "locmem://") == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/3",
    }
    assert envrate("CARELINE_API_RATE", "600/min") == "1200/min"

    monkeypatch.setenv("CARELINE_CACHE_URL", "memcache://x")
    monkeypatch.setenv("CARELINE_API_RATE", "lots")
    with pytest.raises(ImproperlyConfigured, match="CARELINE_CACHE_URL"):
        envcache("CARELINE_CACHE_URL", "locmem://")
    with pytest.raises(ImproperlyConfigured, match="CARELINE_API_RATE"):
        envrate("CARELINE_API_RATE", "600/min")
