"""Announcements the engine makes; other apps subscribe without the engine knowing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent when a response's template could not be rendered for a mention and its draft was left out.
# Arguments: response_key (str), template (str, the text that failed), reason (str, no customer data).
reply_render_failed = Signal()
