from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class WebhooksConfig(AppConfig):
    """Outbound webhooks: the inbox's events, signed and delivered to subscribed receivers."""

    name = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from console.signals import mention_event
        from webhooks.receivers import on_mention_event
        from webhooks.roles import roles_grant_webhook_permissions

        post_migrate.connect(roles_grant_webhook_permissions, sender=self)
        mention_event.connect(on_mention_event, dispatch_uid="webhooks.deliveries_record")
