"""Placeholder: filled in by its area's work."""

from __future__ import annotations

from django.urls import URLPattern

api_urlpatterns: list[URLPattern] = []
admin_urlpatterns: list[URLPattern] = []
