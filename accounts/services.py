"""Writes about accounts: API tokens, stored as a hash only (django-rest-knox)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken


def token_create(*, user: Any, replace: bool = False, expires_in: timedelta | None = None) -> str:
    """A new API token for ``user``, returned once: only its hash is kept, so it cannot be shown
    again. ``replace`` ends the user's other tokens; ``expires_in`` None means the configured
    lifetime (REST_KNOX["TOKEN_TTL"]; by default tokens do not expire). The user's expired
    tokens are deleted here (authentication only refuses them: accounts.auth)."""
    with transaction.atomic():
        if replace:
            AuthToken.objects.filter(user=user).delete()
        else:
            AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        options = {} if expires_in is None else {"expiry": expires_in}
        _, token = AuthToken.objects.create(user=user, **options)
    return token
