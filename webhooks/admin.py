"""Webhooks in the admin: subscriptions (added through the same service as the API, the secret
never shown back) and the delivery log, with redelivery."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User as Account
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from kb.models import Brand
from kb.selectors import brands_served_by
from suggestions.admin import ReadOnlyAdmin
from webhooks.models import Delivery, Event, Subscription
from webhooks.selectors import deliveries_visible_to, subscriptions_visible_to
from webhooks.services import (
    delivery_redeliver,
    subscription_create,
    subscription_end,
    subscription_refusals,
    subscription_set_active,
)


class SubscriptionAddForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https", help_text="Where deliveries are POSTed.")
    secret = forms.CharField(
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text="Signs every delivery; shown back only as its last 4 characters.",
    )
    events = forms.MultipleChoiceField(choices=Event.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Subscription
        fields = ["url", "secret", "events", "brands"]

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        served = brands_served_by(user)
        if served is not None:
            brands = cast(forms.ModelMultipleChoiceField, self.fields["brands"])
            brands.queryset = Brand.objects.filter(pk__in=[brand.pk for brand in served])
            brands.help_text = "Default: every brand you serve."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        errors, _ = subscription_refusals(
            url=data.get("url") or self.data.get("url", ""),
            secret=data.get("secret", ""),
            events=data.get("events") or [],
            brands=list(data.get("brands") or []),
            user=self.user,
        )
        for field, message in errors.items():
            if field not in self.errors:
                self.add_error(field if field in self.fields else None, message)
        return data


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["url", "events_list", "brands_list", "active", "secret_shown", "waiting", "failed"]
    list_filter = ["active", ("ended_at", admin.EmptyFieldListFilter)]
    search_fields = ["url"]
    actions = ["pause_selected", "resume_selected", "end_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscription]:
        return subscriptions_visible_to(request.user).annotate(
            pending_count=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
            failed_count=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
        )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is not None:
            return super().get_form(request, obj, change=change, **kwargs)
        form = super().get_form(request, obj, change=change, form=SubscriptionAddForm, **kwargs)

        class WithUser(form):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **form_kwargs: Any) -> None:
                super().__init__(*args, user=request.user, **form_kwargs)

        return WithUser

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["url", "secret", "events", "brands"]
        return [
            "url",
            "secret_shown",
            "events_list",
            "brands_list",
            "active",
            "created_by",
            "created_at",
            "ended_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        shown = ["url", "secret_shown", "events_list", "brands_list", "created_by", "created_at", "ended_at"]
        return [*shown, "active"] if obj.ended_at else shown

    def save_model(self, request: HttpRequest, obj: Subscription, form: Any, change: bool) -> None:
        if change:
            subscription_set_active(subscription=obj, active=obj.active, changed_by=_person(request))
            return
        data = form.cleaned_data
        created = subscription_create(
            url=data["url"],
            secret=data["secret"],
            events=data["events"],
            brands=list(data.get("brands") or []),
            created_by=_person(request),
        )
        obj.pk, obj.created_at, obj.created_by = created.pk, created.created_at, created.created_by

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass  # the service set the brands

    @admin.display(description="events")
    def events_list(self, subscription: Subscription) -> str:
        return ", ".join(subscription.events)

    @admin.display(description="brands")
    def brands_list(self, subscription: Subscription) -> str:
        return ", ".join(brand.key for brand in subscription.brands.all()) or "every brand"

    @admin.display(description="secret")
    def secret_shown(self, subscription: Subscription) -> str:
        return f"…{subscription.secret_hint}"

    @admin.display(description="pending", ordering="pending_count")
    def waiting(self, subscription: Subscription) -> int:
        return getattr(subscription, "pending_count", 0)

    @admin.display(description="failed", ordering="failed_count")
    def failed(self, subscription: Subscription) -> int:
        return getattr(subscription, "failed_count", 0)

    @admin.action(description="Pause selected subscriptions", permissions=["change"])
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for subscription in queryset.filter(ended_at__isnull=True):
            subscription_set_active(subscription=subscription, active=False, changed_by=_person(request))

    @admin.action(description="Resume selected subscriptions", permissions=["change"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for subscription in queryset.filter(ended_at__isnull=True):
            subscription_set_active(subscription=subscription, active=True, changed_by=_person(request))

    @admin.action(description="End selected subscriptions", permissions=["change"])
    def end_selected(self, request: HttpRequest, queryset: QuerySet[Subscription]) -> None:
        for subscription in queryset.filter(ended_at__isnull=True):
            subscription_end(subscription=subscription, ended_by=_person(request))


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "event",
        "mention",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = ["status", "event", "subscription"]
    search_fields = ["delivery_id", "mention__external_id", "last_error"]
    list_select_related = ["subscription", "mention"]
    date_hierarchy = "created_at"
    actions = ["redeliver_selected"]
    readonly_fields = [
        "delivery_id",
        "event",
        "mention",
        "subscription",
        *Delivery.OUTCOME_FIELDS,
        "body_shown",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return deliveries_visible_to(request.user).select_related("mention")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("webhooks.redeliver_delivery"))

    @admin.display(description="body")
    def body_shown(self, delivery: Delivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(json.loads(delivery.body), indent=2))

    @admin.action(description="Redeliver selected deliveries", permissions=["redeliver"])
    def redeliver_selected(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = 0
        for delivery in queryset.order_by("pk"):  # a mention's events go out in their order
            try:
                delivery_redeliver(delivery=delivery, redelivered_by=_person(request))
            except PermissionDenied as refused:
                self.message_user(request, str(refused), messages.ERROR)
                return
            count += 1
        self.message_user(request, f"{count} deliveries queued to be sent again.", messages.SUCCESS)


def _person(request: HttpRequest) -> Account:
    return cast(Account, request.user)  # the admin lets only people signed in this far
