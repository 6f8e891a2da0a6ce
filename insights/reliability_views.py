"""How far to trust the engine's confidence: predicted against observed acceptance.

- GET /api/v1/analytics/reliability/: the top suggestions agents gave a verdict on (sent, or
  rejected or passed over), in 10 bins of the confidence they were served with: each bin's mean
  confidence, the share agents sent and how many; the expected calibration error (ECE); and the
  recalibration in force (suggestions.recalibration).
- /admin/insights/reliability/: the same as a reliability chart.

The analytics filter (``brand``, ``channel``, ``since``, ``until``) chooses the mentions; only
people who may read suggestion requests (editors, leads) get in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from insights.access import insights_page
from insights.analytics import AnalyticsFilter
from insights.analytics_views import AnalyticsApi, filtered_page, rate
from suggestions.models import Recalibration, SuggestionRequest
from suggestions.recalibration import Reliability, recalibration_current, reliability_curve

DEFINITION = (
    "Each mention counts once, by its top suggestion (or closest draft): sent by an agent (accepted "
    "or edited) or not (rejected, or another one sent). A well calibrated confidence of 0.7 is sent "
    "7 times in 10. Mentions nobody gave a verdict on are left out."
)


def reliability_data(filters: AnalyticsFilter) -> dict[str, Any]:
    curve = reliability_curve(requests=SuggestionRequest.objects.filter(filters.mentions_q()))
    return {
        "definition": DEFINITION,
        "verdicts": curve.verdicts,
        "ece": rate(curve.ece),
        "bins": bins_data(curve),
        "recalibration": recalibration_data(recalibration_current()),
    }


def bins_data(curve: Reliability) -> list[dict[str, Any]]:
    return [
        {
            "lower": item.lower,
            "upper": item.upper,
            "mean_confidence": rate(item.mean_confidence),
            "observed": rate(item.observed),
            "count": item.count,
        }
        for item in curve.bins
    ]


def recalibration_data(fitted: Recalibration | None) -> dict[str, Any] | None:
    if fitted is None:
        return None
    return {
        "fitted_at": fitted.fitted_at,
        "verdicts": fitted.verdicts,
        "holdout": fitted.holdout,
        "ece": rate(fitted.ece),
        "ece_before": rate(fitted.ece_before),
    }


class ReliabilityApi(AnalyticsApi):
    """Predicted against observed acceptance of top suggestions, in 10 bins, with the ECE."""

    def data(self, filters: AnalyticsFilter, bucket: str) -> dict[str, Any]:
        return reliability_data(filters)


def reliability_page(request: HttpRequest) -> HttpResponse:
    """The reliability chart for the filtered mentions, with its table and the ECE."""
    return filtered_page(
        request,
        template="admin/insights/reliability.html",
        title="Confidence reliability",
        fill=lambda filters, bucket, given: {"reliability": reliability_data(filters)},
    )


api_urlpatterns: list[URLPattern] = [
    path("analytics/reliability/", ReliabilityApi.as_view(), name="analytics-reliability"),
]
admin_urlpatterns: list[URLPattern] = [
    path("reliability/", insights_page(reliability_page), name="reliability"),
]
