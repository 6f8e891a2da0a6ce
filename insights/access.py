"""Who sees insights, and the pieces every insights view shares. Editors and leads read what the
engine was asked (``suggestions.view_suggestionrequest``); insights are made of those mentions.
Someone who serves particular brands (``Brand.members``) sees only those brands' insights."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from rest_framework import permissions, serializers
from rest_framework.request import Request

from kb.api import BrandKeyField
from kb.models import Brand
from kb.selectors import brands_served_by

INSIGHTS_PERMISSION = "suggestions.view_suggestionrequest"


def can_see_insights(user: Any) -> bool:
    return bool(user and user.has_perm(INSIGHTS_PERMISSION))


class CanSeeInsights(permissions.BasePermission):
    message = "Only editors and leads see insights."

    def has_permission(self, request: Request, view: Any) -> bool:
        return can_see_insights(request.user)


def insights_page(view: Callable[[HttpRequest], HttpResponse]) -> Callable[..., HttpResponse]:
    """An admin page for editors and leads: the admin's login first, then a 403 for the rest."""

    @wraps(view)
    def checked(request: HttpRequest) -> HttpResponse:
        if not can_see_insights(request.user):
            raise PermissionDenied
        return view(request)

    return admin.site.admin_view(checked)


class BrandScoped(serializers.Serializer):
    """A query whose ``brand`` must be one the person asking serves (serializer context
    ``user``). Someone serving several brands names one; someone serving one gets it."""

    brand = BrandKeyField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        served = brands_served_by(self.context.get("user"))
        if served is None:
            return attrs
        brand = attrs.get("brand")
        if brand is None and len(served) == 1:
            attrs["brand"] = served[0]
        elif brand not in served:
            keys = ", ".join(sorted(item.key for item in served))
            raise serializers.ValidationError({"brand": f"Choose one of the brands you serve: {keys}."})
        return attrs


def brand_choices(user: Any) -> tuple[QuerySet[Brand], Brand | None]:
    """For a page's brand filter: the brands someone may pick, and the one shown when they pick
    none (None: every brand, for someone who serves no brand in particular)."""
    served = brands_served_by(user)
    if served is None:
        return Brand.objects.all(), None
    return Brand.objects.filter(pk__in=[brand.pk for brand in served]), served[0]


def gaps_visible_to(user: Any) -> Q:
    """The content gaps someone may see: every gap, or those of the brands they serve."""
    served = brands_served_by(user)
    return Q() if served is None else Q(brand__in=served)
