"""The Celery application: `celery -A config worker` runs the background tasks."""

from __future__ import annotations

import os

from celery import Celery
from celery.result import AsyncResult, EagerResult

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("careline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ran_in_process(result: AsyncResult) -> bool:
    """Whether a task queued with ``delay()`` has already run here (no broker configured, tasks in
    process). A real broker's task is only queued: there is no result backend to ask about it."""
    return isinstance(result, EagerResult)
