"""Validators every entry point can share: text a database can store."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

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


@deconstructible
class StorableTextValidator:
    """A field validator refusing text with a NUL character or a lone surrogate."""

    code = "unstorable_text"

    def __call__(self, value: object) -> None:
        if isinstance(value, str) and (why := unstorable_because(value)):
            raise ValidationError(f"The text {why}.", code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StorableTextValidator)

    def __hash__(self) -> int:
        return hash(self.code)


validate_storable_text = StorableTextValidator()
