"""The insights' routes, collected from each area: included under /api/v1/ and /admin/insights/."""

from __future__ import annotations

from insights import analytics_views, gap_views, health_views, reliability_views, sla_views, staffing_views

AREAS = (analytics_views, gap_views, health_views, reliability_views, sla_views, staffing_views)

api_urlpatterns = [pattern for area in AREAS for pattern in area.api_urlpatterns]
admin_urlpatterns = [pattern for area in AREAS for pattern in area.admin_urlpatterns]
