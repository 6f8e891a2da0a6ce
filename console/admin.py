"""The inbox in the admin: read-only (agents work mentions in the console)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator

from console.models import Mention
from kb.admin.base import ServedBrandsOnly
from suggestions.admin import ReadOnlyAdmin


def happened_filter(
    field: str, *, parameter: str, title: str, happened: str, not_happened: str
) -> type[admin.SimpleListFilter]:
    """A filter on whether the moment ``field`` records happened, in words ("Escalated to a lead")."""

    class Happened(admin.SimpleListFilter):
        parameter_name = parameter

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            return [("yes", happened), ("no", not_happened)]

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            if self.value() in ("yes", "no"):
                return queryset.filter(**{f"{field}__isnull": self.value() == "no"})
            return queryset

    Happened.title = title
    return Happened


@admin.register(Mention)
class MentionAdmin(ServedBrandsOnly, ReadOnlyAdmin):
    list_display = ["received_at", "short_text", "brand", "channel", "author_handle", "status", "assigned_to"]
    list_filter = [
        "status",
        "channel",
        ("brand", admin.RelatedOnlyFieldListFilter),
        happened_filter(
            "escalated_at",
            parameter="escalated",
            title="escalation",
            happened="Escalated to a lead",
            not_happened="Not escalated",
        ),
        happened_filter(
            "nothing_fits_at",
            parameter="nothing_fits",
            title="nothing fits",
            happened="An agent said nothing fits",
            not_happened="Drafts were not refused",
        ),
    ]
    search_fields = ["text", "external_id", "conversation_id", "author_handle", "author_name"]
    date_hierarchy = "received_at"
    list_select_related = ["brand", "assigned_to"]

    @admin.display(description="mention", ordering="text")
    def short_text(self, mention: Mention) -> str:
        return Truncator(mention.text).chars(90)
