from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ConsoleConfig(AppConfig):
    """The agents' side: the inbox of mentions integrations push, worked down to zero."""

    name = "console"
    verbose_name = "Console"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from console.roles import roles_grant_console_permissions

        post_migrate.connect(roles_grant_console_permissions, sender=self)
