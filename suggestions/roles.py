"""What each library role may do with the engine (the groups themselves come from kb.roles)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "Editors": ["view_suggestionrequest", "view_feedback", "view_indexversion", "rebuild_index"],
}


def roles_grant_engine_permissions(**kwargs: Any) -> None:
    """Add the engine's permissions to the role groups (idempotent; runs after every migrate)."""
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="suggestions", codename__in=codenames)
        )
