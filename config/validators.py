"""Validators every entry point can share: text a database can store."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import ProhibitNullCharactersValidator
from rest_framework.exceptions import ValidationError
from rest_framework.validators import ProhibitSurrogateCharactersValidator

# PostgreSQL refuses NUL in text; a lone surrogate (half of a UTF-16 pair, as JSON's \ud800 gives)
# cannot be encoded as UTF-8 at all. Either would fail at the database instead of at the field.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable_because(value: str) -> str:
    """Why ``value`` cannot be stored as text ('' when it can)."""
    if "\x00" in value:
        return "contains a NUL character"
    if _LONE_SURROGATE.search(value):
        return "contains a lone surrogate (half of a UTF-16 pair)"
    return ""


_text_validators = (ProhibitNullCharactersValidator(), ProhibitSurrogateCharactersValidator())


def text_problem(value: str) -> str | None:
    """The same, in Django's and DRF's words for a request ("Null characters are not allowed."),
    or None when it can be stored."""
    for validator in _text_validators:
        try:
            validator(value)
        except DjangoValidationError as error:  # Django's validator
            return str(error.messages[0])
        except ValidationError as error:  # DRF's
            detail = error.detail
            return str(detail[0] if isinstance(detail, list) else detail)
    return None
