from __future__ import annotations

from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """What the suggestions and agents' feedback teach: analytics, content gaps, library health."""

    name = "insights"
    verbose_name = "Insights"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from insights.health import render_failure_record
        from suggestions.signals import reply_render_failed

        reply_render_failed.connect(render_failure_record, dispatch_uid="insights.render_failures")
