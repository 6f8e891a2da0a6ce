from __future__ import annotations

from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """What the suggestions and agents' feedback teach: analytics, content gaps, library health."""

    name = "insights"
    verbose_name = "Insights"
    default_auto_field = "django.db.models.BigAutoField"
