from __future__ import annotations

from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    """Channels connected to the inbox: a brand's X account read for mentions and posted to."""

    name = "connectors"
    verbose_name = "Channels"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from connectors.sender import XSender
        from console.outbound import sender_register

        sender_register(XSender())
