from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from kb import services
from kb.admin.base import LibraryAdmin, ServedBrandsLibrary, ServiceModelForm
from kb.models import Brand
from kb.selectors import SEARCHED_FIELDS, brands_served_by


class BrandForm(ServiceModelForm):
    class Meta:
        widgets = {"members": FilteredSelectMultiple("people", is_stacked=False)}

    def service_values(self) -> dict[str, Any]:
        values = super().service_values()
        if "members" in self.cleaned_data:
            values["members"] = list(self.cleaned_data["members"])
        return values


@admin.register(Brand)
class BrandAdmin(ServedBrandsLibrary, LibraryAdmin):
    brand_path = "pk"
    service_fields = services.BRAND_FIELDS
    form = BrandForm
    list_display = ["key", "name", "handle", "issue_count"]
    search_fields = SEARCHED_FIELDS["brand"]
    ordering = ["key"]
    fields = ["key", "name", "handle", "members", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """Who serves a brand is set by those who serve every brand (the services insist too)."""
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if brands_served_by(request.user) is None else ["members", *readonly]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Brand]:
        return super().get_queryset(request).annotate(issue_count=Count("issues"))

    @admin.display(description="issues", ordering="issue_count")
    def issue_count(self, brand: Brand) -> int:
        return brand.issue_count  # type: ignore[attr-defined]

    def service_create(self, request: HttpRequest, values: dict[str, Any]) -> Brand:
        return services.brand_create(created_by=request.user, **values)

    def service_update(self, request: HttpRequest, obj: Brand, values: dict[str, Any]) -> Brand:
        return services.brand_update(brand=obj, updated_by=request.user, **values)
