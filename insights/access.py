"""Who sees insights, and the pieces every insights view shares. Editors and leads read what the
engine was asked (``suggestions.view_suggestionrequest``); insights are made of those mentions.
Someone who serves particular brands (``Brand.members``) sees only those brands' insights."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from rest_framework import permissions
from rest_framework.request import Request

from kb.selectors import brands_served_by

INSIGHTS_PERMISSION = "suggestions.view_suggestionrequest"


def can_see_insights(user: Any) -> bool:
    return bool(user and user.has_perm(INSIGHTS_PERMISSION))


class CanSeeInsights(permissions.BasePermission):
    message = "Only editors and leads see insights."

    def has_permission(self, request: Request, view: Any) -> bool:
        return can_see_insights(request.user)


def insights_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An admin page for editors and leads: the admin's login first, then a 403 for the rest."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_see_insights(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return admin.site.admin_view(checked)


def gaps_visible_to(user: Any) -> Q:
    """The content gaps someone may see: every gap, or those of the brands they serve."""
    served = brands_served_by(user)
    return Q() if served is None else Q(brand__in=served)
