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
        from console.targets import target_receivers_connect
        from console.triage import mentions_retriage_for_issues
        from kb.signals import library_changed

        post_migrate.connect(roles_grant_console_permissions, sender=self)
        # An issue's severity changed: its open mentions move in the inbox.
        library_changed.connect(mentions_retriage_for_issues, dispatch_uid="console_retriage")
        # A response target saved or deleted: the open mentions it covers get new deadlines.
        target_receivers_connect()
