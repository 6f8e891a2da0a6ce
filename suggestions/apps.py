from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SuggestionsConfig(AppConfig):
    name = "suggestions"
    verbose_name = "Suggestions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kb.signals import library_changed
        from suggestions.receivers import library_changed_queue_sync
        from suggestions.roles import roles_grant_engine_permissions

        library_changed.connect(library_changed_queue_sync, dispatch_uid="suggestions.index_sync")
        post_migrate.connect(roles_grant_engine_permissions, sender=self)
