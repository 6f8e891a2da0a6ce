from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class KbConfig(AppConfig):
    name = "kb"
    verbose_name = "Troubleshooting library"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kb.roles import roles_ensure

        post_migrate.connect(roles_ensure, sender=self)
