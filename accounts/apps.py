from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    """Signing in and API tokens: who may use the admin, login lockouts, hashed API tokens."""

    default = True
    name = "accounts"
    verbose_name = "Accounts"


class CarelineAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, with Careline's site as ``admin.site``."""

    default = False
    default_site = "accounts.admin_site.CarelineAdminSite"
