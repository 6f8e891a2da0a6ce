"""A mention in a delivery's body: as GET /api/v1/mentions/<id>/ shows it to a given person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User as Account

from console.api import MentionSerializer


@dataclass(frozen=True)
class _SeenBy:
    """What the mention serializer reads of a request: who is asking (drafts are signed for them)."""

    user: Account


def mention_as_seen_by(mention: Any, person: Account) -> dict[str, Any]:
    """The console API's representation of ``mention`` for ``person``."""
    return dict(MentionSerializer(mention, context={"request": _SeenBy(person)}).data)
