from __future__ import annotations

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The agents' side: the inbox of mentions integrations push, worked down to zero."""

    name = "console"
    verbose_name = "Console"
    default_auto_field = "django.db.models.BigAutoField"
