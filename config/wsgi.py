"""WSGI entry point: `gunicorn config.wsgi`."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Load the embedding model now, so the first mention does not wait for it.
from suggestions.embedder import get_embedder  # noqa: E402

get_embedder()
