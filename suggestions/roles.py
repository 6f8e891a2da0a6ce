"""What each library role may do with the engine (the groups themselves come from kb.roles)."""

from __future__ import annotations

from typing import Any

from kb.roles import roles_grant

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "Editors": ["view_suggestionrequest", "view_feedback", "view_indexversion", "rebuild_index"],
}


def roles_grant_engine_permissions(**kwargs: Any) -> None:
    """Add the engine's permissions to the role groups (idempotent; runs after every migrate)."""
    roles_grant(app_label="suggestions", role_permissions=ROLE_PERMISSIONS)
