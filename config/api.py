"""API-wide behaviour: errors always come back as JSON with a message per field, and a database
that does not answer is a 503 the caller may retry, not a 500."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

# Errors that say the database cannot be reached (down, restarting, refusing connections).
DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30
DATABASE_UNAVAILABLE = f"The database is not answering; try again in {RETRY_AFTER_SECONDS} seconds."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus Django's ValidationError (raised by services) as a 400 and an
    unreachable database as a 503 with ``Retry-After``."""
    if isinstance(exc, DATABASE_ERRORS):
        logger.error("Database unavailable answering %s", context["request"].path, exc_info=exc)
        set_rollback()
        return Response(
            {"detail": DATABASE_UNAVAILABLE},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    return drf_exception_handler(exc, context)
