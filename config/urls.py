"""Routes. The API lives under /api/v1/:

- POST /api/v1/suggestions/ answers a mention; GET lists stored requests;
  POST /api/v1/suggestions/<id>/feedback/ records what the agent did with it.
- /api/v1/brands/, /api/v1/issues/, /api/v1/examples/, /api/v1/responses/: the library.
- GET /api/v1/index/ and POST /api/v1/index/rebuild/: the vector index.
- /api/v1/mentions/: the inbox integrations push mentions into (suggested in the background).
- /api/v1/webhooks/: receivers subscribed to the inbox's events (webhooks.api).
- /api/v1/analytics/, /api/v1/gaps/, /api/v1/library-health/: insights for editors and leads
  (the same pages for people under /admin/insights/).
"""

from __future__ import annotations

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from config.health import healthz
from console.api import MentionViewSet
from console.targets_api import ResponseTargetViewSet
from insights.urls import admin_urlpatterns as insights_admin_urlpatterns
from insights.urls import api_urlpatterns as insights_api_urlpatterns
from kb.api import BrandViewSet, ExampleViewSet, IssueViewSet, ResponseViewSet
from suggestions.api import IndexApi, IndexRebuildApi, SuggestionViewSet, readyz
from webhooks.api import WebhookViewSet

admin.site.site_header = "Careline"
admin.site.site_title = "Careline"
admin.site.index_title = "Troubleshooting library"

router = DefaultRouter()
router.register("brands", BrandViewSet, basename="brand")
router.register("issues", IssueViewSet, basename="issue")
router.register("examples", ExampleViewSet, basename="example")
router.register("responses", ResponseViewSet, basename="response")
router.register("suggestions", SuggestionViewSet, basename="suggestion")
router.register("mentions", MentionViewSet, basename="mention")
router.register("response-targets", ResponseTargetViewSet, basename="response-target")
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = [
    path("admin/insights/", include((insights_admin_urlpatterns, "insights"))),
    path("admin/", admin.site.urls),
    path("api/v1/index/", IndexApi.as_view(), name="index-status"),
    path("api/v1/index/rebuild/", IndexRebuildApi.as_view(), name="index-rebuild"),
    path("api/v1/", include(router.urls)),
    path("api/v1/", include(insights_api_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("favicon.ico", RedirectView.as_view(permanent=True, url=static("console/favicon.ico"))),
    path("", include("console.urls")),
]
