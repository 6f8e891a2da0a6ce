"""What each role may do in the inbox (the groups themselves come from kb.roles)."""

from __future__ import annotations

from typing import Any

from kb.roles import roles_grant

# Reading and working the inbox (take, release, answer, dismiss, nothing fits, escalate) is the
# agents'; leads (Editors) also assign; pushing mentions in is the integrations' alone.
WORK_MENTIONS = ["view_mention", "change_mention"]
# Leads set how soon their brands answer and when their teams work.
RESPONSE_TARGETS = [f"{action}_responsetarget" for action in ("add", "change", "delete", "view")]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    "Agents": WORK_MENTIONS,
    "Editors": [*WORK_MENTIONS, "assign_mention", *RESPONSE_TARGETS],
    "Integrations": ["add_mention"],
}


def roles_grant_console_permissions(**kwargs: Any) -> None:
    """Add the inbox's permissions to the role groups (idempotent; runs after every migrate)."""
    roles_grant(app_label="console", role_permissions=ROLE_PERMISSIONS)
