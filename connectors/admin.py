"""Channels in the admin: a brand's X account (connected and given new tokens through the
services; the token is write-only, shown back only as its last characters) and the replies
posted through it."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User as Account
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from connectors.models import XConnection, XPost, XPostPart
from connectors.services import (
    connection_create,
    connection_refusals,
    connection_set_paused,
    connection_set_token,
    mentions_poll,
    token_refusals,
)
from suggestions.admin import ReadOnlyAdmin

TOKEN_HELP = (
    "An OAuth 2.0 user access token of the account (scopes tweet.read, tweet.write, users.read, "
    "dm.read, dm.write). Kept encrypted; never shown again."
)
REFRESH_HELP = (
    "Its refresh token (scope offline.access), to renew the access token before it expires "
    "(needs CARELINE_X_CLIENT_ID). Kept encrypted; never shown again."
)


class XConnectionForm(forms.ModelForm):
    token = forms.CharField(
        required=False, max_length=2000, widget=forms.PasswordInput(render_value=False), help_text=TOKEN_HELP
    )
    refresh_token = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.PasswordInput(render_value=False),
        help_text=REFRESH_HELP,
    )

    class Meta:
        model = XConnection
        fields = ["brand", "account_id", "account_username", "token", "refresh_token", "token_env"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None:
            errors = connection_refusals(
                brand=data.get("brand"),
                account_id=data.get("account_id") or "",
                token=data.get("token") or "",
                refresh_token=data.get("refresh_token") or "",
                token_env=data.get("token_env") or "",
            )
        elif _credentials_given(data, self.changed_data):
            errors = token_refusals(
                token=data.get("token") or "",
                refresh_token=data.get("refresh_token") or "",
                token_env=data.get("token_env") or "",
            )
        else:
            errors = {}
        for field, message in errors.items():
            if field not in self.errors:
                self.add_error(field if field in self.fields else None, message)
        return data


@admin.register(XConnection)
class XConnectionAdmin(admin.ModelAdmin):
    form = XConnectionForm
    list_display = [
        "brand",
        "account_shown",
        "status",
        "token_shown",
        "last_polled_at",
        "rate_limited_until",
        "last_error",
    ]
    list_filter = ["status"]
    search_fields = ["brand__key", "brand__name", "account_username", "account_id"]
    list_select_related = ["brand"]
    actions = ["poll_selected", "pause_selected", "resume_selected"]
    readonly_fields = [
        "status",
        "token_shown",
        "token_expires_at",
        "since_id",
        "last_polled_at",
        "last_error",
        "rate_limited_until",
        "rate_limit_remaining",
        "created_at",
    ]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["brand", "account_id", "account_username", "token", "refresh_token", "token_env"]
        return [
            "brand",
            "account_id",
            "account_username",
            "token",
            "refresh_token",
            "token_env",
            *self.readonly_fields,
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["brand", "account_id", *self.readonly_fields] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: XConnection, form: Any, change: bool) -> None:
        data, person = form.cleaned_data, _person(request)
        if not change:
            created = connection_create(
                brand=data["brand"],
                account_id=data["account_id"],
                account_username=data.get("account_username") or "",
                token=data.get("token") or "",
                refresh_token=data.get("refresh_token") or "",
                token_env=data.get("token_env") or "",
                created_by=person,
            )
            obj.pk, obj.created_at = created.pk, created.created_at
            return
        XConnection.objects.filter(pk=obj.pk).update(account_username=obj.account_username.lstrip("@"))
        if _credentials_given(data, form.changed_data):
            connection_set_token(
                connection=obj,
                token=data.get("token") or "",
                refresh_token=data.get("refresh_token") or "",
                token_env=data.get("token_env") or "",
                changed_by=person,
            )

    @admin.display(description="account")
    def account_shown(self, connection: XConnection) -> str:
        return f"@{connection.account_username}" if connection.account_username else connection.account_id

    @admin.display(description="token")
    def token_shown(self, connection: XConnection) -> str:
        if connection.token_env:
            return f"from ${connection.token_env}"
        shown = f"…{connection.token_hint}" if connection.token_hint else "none yet"
        return f"{shown}, renewed by its refresh token" if connection.refresh_token_encrypted else shown

    @admin.action(description="Read new mentions now", permissions=["change"])
    def poll_selected(self, request: HttpRequest, queryset: QuerySet[XConnection]) -> None:
        for connection in queryset:
            new = mentions_poll(connection_id=connection.pk)
            connection.refresh_from_db()
            level = messages.ERROR if connection.last_error else messages.SUCCESS
            said = connection.last_error or f"{new} new mention{'s' if new != 1 else ''}."
            self.message_user(request, f"{connection}: {said}", level)

    @admin.action(description="Pause selected accounts", permissions=["change"])
    def pause_selected(self, request: HttpRequest, queryset: QuerySet[XConnection]) -> None:
        for connection in queryset:
            connection_set_paused(connection=connection, paused=True, changed_by=_person(request))

    @admin.action(description="Resume selected accounts", permissions=["change"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[XConnection]) -> None:
        for connection in queryset:
            try:
                connection_set_paused(connection=connection, paused=False, changed_by=_person(request))
            except (ValidationError, PermissionDenied) as refused:
                self.message_user(
                    request,
                    f"{connection}: {' '.join(getattr(refused, 'messages', [str(refused)]))}",
                    messages.ERROR,
                )


class XPostPartInline(admin.TabularInline):
    """A reply posted in parts: each part, whether it is on X, and its tweet."""

    model = XPostPart
    extra = 0
    fields = readonly_fields = ("position", "text", "status", "posted_id", "posted_at")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(XPost)
class XPostAdmin(ReadOnlyAdmin):
    inlines = [XPostPartInline]
    list_display = [
        "attempted_at",
        "mention",
        "kind",
        "status",
        "attempts",
        "posted_id",
        "posted_by",
        "error",
    ]
    list_filter = ["status", "kind", "connection"]
    search_fields = ["mention__external_id", "posted_id", "text"]
    list_select_related = ["mention", "posted_by"]
    date_hierarchy = "attempted_at"


def _credentials_given(data: dict[str, Any], changed: list[str]) -> bool:
    """A change form left blank keeps the account's tokens; typing one, or changing the
    variable, replaces them all."""
    return bool(data.get("token") or data.get("refresh_token") or "token_env" in changed)


def _person(request: HttpRequest) -> Account:
    return cast(Account, request.user)  # the admin lets only people signed in this far
