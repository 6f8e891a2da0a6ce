from __future__ import annotations

from django.apps import AppConfig


class SuggestionsConfig(AppConfig):
    name = "suggestions"
    verbose_name = "Suggestions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kb.signals import library_changed
        from suggestions.receivers import library_changed_queue_sync

        library_changed.connect(library_changed_queue_sync, dispatch_uid="suggestions.index_sync")
