"""Announcements the library makes; other apps subscribe without the library knowing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once a transaction that changed the library has committed.
# Arguments: issue_ids (frozenset[int]) of the issues whose examples or responses changed.
library_changed = Signal()
