from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator

from kb import services
from kb.admin.base import (
    LibraryAdmin,
    LibraryInline,
    ServedBrandsLibrary,
    ServiceModelForm,
    ServiceWrites,
    apply_each,
    report_outcome,
)
from kb.models import Example
from kb.selectors import SEARCHED_FIELDS


class ExampleWrites(ServiceWrites):
    service_fields = services.EXAMPLE_FIELDS

    def service_create(self, request: HttpRequest, values: dict[str, Any]) -> Example:
        return services.example_create(created_by=request.user, **values)

    def service_update(self, request: HttpRequest, obj: Example, values: dict[str, Any]) -> Example:
        return services.example_update(example=obj, updated_by=request.user, **values)


class ExampleInlineForm(ServiceModelForm):
    class Meta:
        widgets = {"text": forms.Textarea(attrs={"rows": 2, "cols": 90})}


class ExampleInline(ExampleWrites, LibraryInline, admin.TabularInline):
    """How customers say it, edited in place on the issue page. Where an example came from is
    fixed; its status is kept editable so pending learned phrasings can be accepted right here."""

    model = Example
    fields = ["text", "source", "status"]
    readonly_fields = ["source"]
    extra = 1
    form = ExampleInlineForm
    show_change_link = False  # the row is the whole example; its history is on the Examples list


@admin.register(Example)
class ExampleAdmin(ServedBrandsLibrary, ExampleWrites, LibraryAdmin):
    brand_path = "issue__brand"
    list_display = ["short_text", "issue", "source", "status", "created_at"]
    list_filter = ["status", "source", ("issue__brand", admin.RelatedOnlyFieldListFilter), "issue__tags"]
    list_select_related = ["issue"]
    search_fields = SEARCHED_FIELDS["example"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    autocomplete_fields = ["issue"]
    fields = ["issue", "text", "source", "status", "created_by", "created_at", "updated_at"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    actions = ["activate_selected", "retire_selected"]
    history_list_display = ["status"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Example]:
        return super().get_queryset(request).select_related("issue", "created_by")

    @admin.display(description="example", ordering="text")
    def short_text(self, example: Example) -> str:
        return Truncator(example.text).chars(90)

    @admin.action(description="Activate selected examples", permissions=["change"])
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[Example]) -> None:
        succeeded, failed = apply_each(
            queryset,
            lambda example: services.example_update(
                example=example, updated_by=request.user, status=Example.Status.ACTIVE
            ),
        )
        report_outcome(request, self, done="activated", succeeded=succeeded, failed=failed)

    @admin.action(description="Retire selected examples", permissions=["change"])
    def retire_selected(self, request: HttpRequest, queryset: QuerySet[Example]) -> None:
        succeeded, failed = apply_each(
            queryset, lambda example: services.example_retire(example=example, retired_by=request.user)
        )
        report_outcome(request, self, done="retired", succeeded=succeeded, failed=failed)
