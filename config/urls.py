from __future__ import annotations

from django.contrib import admin
from django.urls import path

from config.health import healthz

admin.site.site_header = "Careline"
admin.site.site_title = "Careline"
admin.site.index_title = "Troubleshooting library"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
