"""Django model permissions for viewsets whose actions are not plain create/read/update/delete."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request


class ActionPermissions(permissions.BasePermission):
    """The caller must be signed in and hold every permission the view's ``action_permissions``
    names for the action (``{"list": ["console.view_mention"], ...}``). An action the map does
    not name is refused, so a new action is closed until someone says who may use it; OPTIONS
    (DRF's ``metadata``) takes what ``list`` takes."""

    message = "You do not have permission to do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if view.action is None:  # a method the view does not take: DRF answers 405
            return True
        needed: dict[str, list[str]] = view.action_permissions
        action = "list" if view.action == "metadata" else view.action
        if action not in needed:
            return False
        return bool(request.user.has_perms(needed[action]))
