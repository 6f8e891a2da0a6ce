"""What each library role may do with the engine (the groups themselves come from kb.roles)."""

from __future__ import annotations

from typing import Any

from kb.roles import roles_grant

# Asking for suggestions, and saying what was sent to the customer (feedback). Authors may try
# the engine on their library but send nothing to customers.
ASK = ["add_suggestionrequest", "add_feedback"]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    "Editors": ["view_suggestionrequest", "view_feedback", "view_indexversion", "rebuild_index", *ASK],
    "Authors": ["add_suggestionrequest"],
    "Agents": ASK,
    "Integrations": ASK,
}


def roles_grant_engine_permissions(**kwargs: Any) -> None:
    """Add the engine's permissions to the role groups (idempotent; runs after every migrate)."""
    roles_grant(app_label="suggestions", role_permissions=ROLE_PERMISSIONS)
