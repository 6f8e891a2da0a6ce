"""API token authentication: knox's tokens (stored as a hash only), checked in one statement."""

from __future__ import annotations

import binascii
from typing import Any

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import knox_settings
from knox.signals import token_expired
from rest_framework.exceptions import AuthenticationFailed

INVALID = "Invalid token."


class TokenAuthentication(KnoxTokenAuthentication):
    """``Authorization: Token KEY``, as knox checks it, in one query on every request.

    The token is found by its digest, the table's primary key, together with its user; knox reads
    every token that shares the key's first 15 characters, hashes it against each, then reads all
    the user's tokens to delete the expired ones (a second query per request). That sweep happens
    when a token is made instead (accounts.services.token_create); an expired token is still
    refused and deleted when it is presented. Nothing is cached: a deleted token, or a user made
    inactive, is refused from the next request on, in every process."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, AuthToken]:
        try:
            digest = hash_token(token.decode("utf-8"))
        except (UnicodeDecodeError, TypeError, binascii.Error):
            raise AuthenticationFailed(INVALID) from None
        try:
            auth_token = AuthToken.objects.select_related("user").get(digest=digest)
        except AuthToken.DoesNotExist:
            raise AuthenticationFailed(INVALID) from None
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=type(self), username=username, source="auth_token")
            raise AuthenticationFailed(INVALID)
        if knox_settings.AUTO_REFRESH and auth_token.expiry:
            self.renew_token(auth_token)
        return self.validate_user(auth_token)


class TokenScheme(KnoxTokenScheme):
    """The same security scheme in the OpenAPI schema as knox's own class gets."""

    target_class = "accounts.auth.TokenAuthentication"
