"""API rate limits: per person (their token or session) and per scope, anonymous callers per
address. A view names its scope with ``throttle_scope`` (suggestions have their own); every
other view counts against "user", or "anon" for callers who are not signed in. Rates come from
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], read on every request. Counts live in the default
cache: several web processes need a shared one (CARELINE_CACHE_URL=redis://...)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class PerRequesterThrottle(SimpleRateThrottle):
    def __init__(self) -> None:  # the scope is known only once the request is
        pass

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.user and request.user.is_authenticated:
            self.scope = getattr(view, "throttle_scope", None) or "user"
        else:
            self.scope = "anon"
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # type: ignore[assignment]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        if request.user and request.user.is_authenticated:
            ident = str(request.user.pk)
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
