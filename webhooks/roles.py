"""Who manages webhooks (the groups themselves come from kb.roles)."""

from __future__ import annotations

from typing import Any

from kb.roles import roles_grant

# Subscribing receivers, ending them (a change: as in the library, nobody's role deletes, and the
# delivery log is kept) and redelivering is for editors (and superusers); agents and
# integrations have no say.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    "Editors": [
        "add_subscription",
        "view_subscription",
        "change_subscription",
        "view_delivery",
        "redeliver_delivery",
    ],
}


def roles_grant_webhook_permissions(**kwargs: Any) -> None:
    """Add the webhooks' permissions to the role groups (idempotent; runs after every migrate)."""
    roles_grant(app_label="webhooks", role_permissions=ROLE_PERMISSIONS)
