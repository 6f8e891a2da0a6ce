"""The inbox in the admin: read-only (agents work mentions in the console)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator

from console.models import Mention, ResponseTarget
from console.sla import TARGET_FIELDS, hours_words
from console.targets import response_target_validate
from kb.admin.base import ServedBrandsOnly
from kb.models import Brand
from kb.selectors import brands_served_by, may_edit_for
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


class ResponseTargetForm(forms.ModelForm):
    """A target's clock and scope checked as the API checks them (console.targets): every
    refusal is a message on its field, never a failed save."""

    class Meta:
        model = ResponseTarget
        fields = list(TARGET_FIELDS)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        served = brands_served_by(user)
        brand_field = self.fields["brand"]
        if served is not None and isinstance(brand_field, forms.ModelChoiceField):
            # Someone who serves particular brands sets targets for those brands only.
            brand_field.queryset = Brand.objects.filter(pk__in=[brand.pk for brand in served])
            brand_field.required = True

    def validate_constraints(self) -> None:
        # The unique constraints are checked with the other rules in clean(), in words.
        return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        if not may_edit_for(self.user, cleaned.get("brand")):
            self.add_error("brand", "Choose one of the brands you serve.")
            return cleaned
        candidate = ResponseTarget(
            pk=self.instance.pk, **{name: cleaned.get(name) for name in self.Meta.fields}
        )
        candidate.channel = candidate.channel or ""
        candidate.weekdays = candidate.weekdays or ""
        candidate.time_zone = candidate.time_zone or ""
        try:
            response_target_validate(candidate)
        except ValidationError as refused:
            for field, messages in refused.message_dict.items():
                self.add_error(field, messages)
        return cleaned


@admin.register(ResponseTarget)
class ResponseTargetAdmin(ServedBrandsOnly, admin.ModelAdmin):
    """How soon each brand answers on each channel, and when its team works. Saving or deleting
    a target gives the open mentions it covers new deadlines (console.targets)."""

    form = ResponseTargetForm
    list_display = ["scope", "first_response_minutes", "resolution_minutes", "hours", "time_zone"]
    list_filter = ["channel", ("brand", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["brand"]
    ordering = ["brand__key", "channel"]
    fieldsets = [
        (None, {"fields": ["brand", "channel"]}),
        ("Targets", {"fields": ["first_response_minutes", "resolution_minutes"]}),
        (
            "Business hours",
            {
                "fields": ["weekdays", "opens_at", "closes_at", "time_zone"],
                "description": "The clock stops outside these hours. Leave opens and closes at "
                "empty for round the clock; a shift that closes before it opens (22:00 to 06:00) "
                "runs past midnight and belongs to the day it opens.",
            },
        ),
    ]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)

        class WithUser(form):  # type: ignore[valid-type,misc]
            def __init__(self, *args: Any, **form_kwargs: Any) -> None:
                super().__init__(*args, user=request.user, **form_kwargs)

        return WithUser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or may_edit_for(request.user, obj.brand))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or may_edit_for(request.user, obj.brand))

    @admin.display(description="applies to", ordering="brand__key")
    def scope(self, target: ResponseTarget) -> str:
        brand = str(target.brand) if target.brand_id else "Every brand"
        return f"{brand} · {target.get_channel_display() if target.channel else 'every channel'}"

    @admin.display(description="business hours")
    def hours(self, target: ResponseTarget) -> str:
        days = [int(day) for day in target.weekdays if day.isdigit()]
        return hours_words(weekdays=days, opens_at=target.opens_at, closes_at=target.closes_at)
