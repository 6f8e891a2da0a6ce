"""The console's announcements, turned into deliveries (connected in WebhooksConfig.ready)."""

from __future__ import annotations

from typing import Any

from console.models import Mention
from webhooks.services import deliveries_record


def on_mention_event(
    sender: Any, *, event: str, mention: Mention, details: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    deliveries_record(event=event, mention=mention, details=details)
