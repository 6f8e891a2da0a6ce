"""The inbox in the admin: read-only (agents work mentions in the console)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.text import Truncator

from console.models import Mention
from kb.admin.base import ServedBrandsOnly
from suggestions.admin import ReadOnlyAdmin


@admin.register(Mention)
class MentionAdmin(ServedBrandsOnly, ReadOnlyAdmin):
    list_display = ["received_at", "short_text", "brand", "channel", "author_handle", "status", "assigned_to"]
    list_filter = [
        "status",
        "channel",
        ("brand", admin.RelatedOnlyFieldListFilter),
        ("escalated_at", admin.EmptyFieldListFilter),
        ("nothing_fits_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["text", "external_id", "author_handle", "author_name"]
    date_hierarchy = "received_at"
    list_select_related = ["brand", "assigned_to"]

    @admin.display(description="mention", ordering="text")
    def short_text(self, mention: Mention) -> str:
        return Truncator(mention.text).chars(90)
