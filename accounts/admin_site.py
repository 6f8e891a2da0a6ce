"""The admin site: a member of a library role gets in by joining the role (kb.roles.may_use_admin),
with no separate "staff status" to keep in step with the groups."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from kb.roles import may_use_admin


class RoleAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": (
            "Please enter the correct %(username)s and password of an editor's or author's account. "
            "Both fields may be case-sensitive."
        ),
    }

    def confirm_login_allowed(self, user: Any) -> None:
        AuthenticationForm.confirm_login_allowed(self, user)
        if not may_use_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class CarelineAdminSite(admin.AdminSite):
    login_form = RoleAuthenticationForm
    # The home page and the top bar lead everywhere; a side menu on every page took 300 of a
    # 1366-pixel screen from the library's lists, which clipped their columns.
    enable_nav_sidebar = False

    def has_permission(self, request: HttpRequest) -> bool:
        return may_use_admin(request.user)
