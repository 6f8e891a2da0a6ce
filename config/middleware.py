"""What every request goes through before and after its view, API or page alike.

- A query string holding a NUL (or a lone surrogate) is refused with a 400 naming the parameter,
  before any view passes it to the database (PostgreSQL stores neither).
- A database that does not answer gives a 503 with ``Retry-After`` (JSON under /api/), never a
  500 page; DRF views answer the same through ``config.api.exception_handler``. Every 503 says
  when to come back (``/readyz`` too)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from config.api import DATABASE_ERRORS, DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from config.validators import text_problem

logger = logging.getLogger(__name__)


def _speaks_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path == "/readyz"


class QueryStringMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problems: dict[str, list[str]] = {}
        for name, values in request.GET.lists():
            problem = text_problem(name) or next(filter(None, map(text_problem, values)), None)
            if problem:
                problems[name] = [problem]
        if problems:
            if _speaks_json(request):
                return JsonResponse(problems, status=400)
            lines = (f"Query parameter {name!r}: {messages[0]}" for name, messages in problems.items())
            return HttpResponseBadRequest("\n".join(lines), content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class ServiceUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 503 and not response.has_header("Retry-After"):
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_ERRORS):
            return None
        logger.error("Database unavailable answering %s", request.path, exc_info=exception)
        response: HttpResponse
        if _speaks_json(request):
            response = JsonResponse({"detail": DATABASE_UNAVAILABLE}, status=503)
        else:
            response = HttpResponse(
                DATABASE_UNAVAILABLE, status=503, content_type="text/plain; charset=utf-8"
            )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
