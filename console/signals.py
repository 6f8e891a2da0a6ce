"""Announcements the inbox makes; other apps (webhooks) subscribe without the console knowing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that changed the mention, so a receiver's rows commit with it.
# Arguments: event ("mention.created", "mention.suggestions_ready", "mention.answered",
# "mention.dismissed", "mention.escalated"), mention (console.models.Mention) and, for some
# events, details (dict: what the mention row does not say, such as who acted).
mention_event = Signal()
