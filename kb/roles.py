"""The people who work on the library, as Django groups. Nobody's group may delete: retiring is
the way out, so nothing disappears by accident."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

LIBRARY_MODELS = ("brand", "tag", "issue", "example", "response")
# The role of systems that hold a token: what they ask is traffic, not a person's trial.
INTEGRATIONS = "Integrations"
EDITED_BY_AUTHORS = ("issue", "example", "response")

ROLES: dict[str, list[str]] = {
    "Editors": [f"{action}_{model}" for model in LIBRARY_MODELS for action in ("add", "change", "view")]
    + ["approve_response"]
    # Leads name the departments that own issues and who gets each one's digest.
    + [f"{action}_department" for action in ("add", "change", "view")],
    "Authors": [f"{action}_{model}" for model in EDITED_BY_AUTHORS for action in ("add", "change")]
    + [f"view_{model}" for model in LIBRARY_MODELS],
    "Agents": [f"view_{model}" for model in LIBRARY_MODELS],
    # Systems, by token: they push mentions and ask for suggestions (console and suggestions
    # grant that); the library is not theirs to read.
    INTEGRATIONS: [],
}


def roles_ensure(**kwargs: Any) -> None:
    """Create the role groups with their permissions (idempotent; runs after every migrate)."""
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(Permission.objects.filter(content_type__app_label="kb", codename__in=codenames))


def roles_grant(*, app_label: str, role_permissions: dict[str, list[str]]) -> None:
    """Add an app's permissions to the role groups, keeping what they have (idempotent). For the
    apps built on the library, from their post_migrate hooks."""
    for name, codenames in role_permissions.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        group.permissions.add(*permissions)


# Joining one of these roles is what opens the admin (no "staff status" to tick as well); agents
# work in the console and integrations over the API, so theirs do not.
ADMIN_ROLES = ("Editors", "Authors")


def may_use_admin(user: Any) -> bool:
    """Whether someone may sign in to the admin: an active member of a library role, or an
    active user given staff status by hand (a superuser, an operator)."""
    if not user.is_active:
        return False
    return bool(user.is_staff) or user.groups.filter(name__in=ADMIN_ROLES).exists()
