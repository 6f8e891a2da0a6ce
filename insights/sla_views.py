"""Response times against the response targets, over REST and as an admin page.

- GET /api/v1/analytics/sla/: first response and resolution in business minutes against each
  mention's target (insights.sla): breaches, median, 90th percentile, share within target, in
  all and per brand and channel.
- /admin/insights/sla/: the same as a table.

The analytics filter (``brand``, ``channel``, ``since``, ``until``) chooses the mentions, by the
day they arrived; only people who may read suggestion requests (editors, leads) get in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from console.clock import duration_words
from console.sla import Target
from insights.access import insights_page
from insights.analytics import AnalyticsFilter
from insights.analytics_views import AnalyticsApi, filtered_page, rate
from insights.sla import SLA_DEFINITION, Group, Measure, sla_report


def minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def measure_data(measure: Measure) -> dict[str, Any]:
    return {
        "closed": measure.closed,
        "within": measure.within,
        "breached": measure.breached,
        "open": measure.open,
        "open_breached": measure.open_breached,
        "breaches": measure.breaches,
        "within_share": rate(measure.within_share),
        "median_minutes": minutes(measure.median_minutes),
        "p90_minutes": minutes(measure.p90_minutes),
    }


def target_data(target: Target) -> dict[str, Any]:
    return {
        "first_response_minutes": target.first_response_minutes,
        "resolution_minutes": target.resolution_minutes,
        "round_the_clock": target.round_the_clock,
        "weekdays": "".join(str(day) for day in sorted(target.weekdays)),
        "opens_at": target.opens_at,
        "closes_at": target.closes_at,
        "time_zone": target.time_zone,
    }


def group_data(group: Group) -> dict[str, Any]:
    return {
        "brand": group.brand_key,
        "channel": group.channel,
        "target": target_data(group.target),
        "first_response": measure_data(group.first_response),
        "resolution": measure_data(group.resolution),
    }


def sla_data(filters: AnalyticsFilter) -> dict[str, Any]:
    report = sla_report(filters=filters)
    return {
        "definition": SLA_DEFINITION,
        "first_response": measure_data(report.first_response),
        "resolution": measure_data(report.resolution),
        "groups": [group_data(group) for group in report.groups],
    }


class SlaApi(AnalyticsApi):
    """First response and resolution against target: breaches, median, p90 and the share within
    target, in all and per brand and channel (most breaches first)."""

    def data(self, filters: AnalyticsFilter, bucket: str) -> dict[str, Any]:
        return sla_data(filters)


def minutes_words(value: float | None) -> str:
    return "—" if value is None else duration_words(round(value))


def sla_page(request: HttpRequest) -> HttpResponse:
    """The response-time table for the filtered mentions."""
    return filtered_page(request, template="admin/insights/sla.html", title="Response times", fill=_page)


def _page(filters: AnalyticsFilter, bucket: str, given: dict[str, str]) -> dict[str, Any]:
    report = sla_report(filters=filters)
    return {
        "definition": SLA_DEFINITION,
        "report": report,
        "rows": [_row("All mentions", "", report.first_response, report.resolution, None)]
        + [
            _row(group.brand_name, group.channel, group.first_response, group.resolution, group.target)
            for group in report.groups
        ],
    }


def _row(
    label: str, channel: str, first: Measure, resolution: Measure, target: Target | None
) -> dict[str, Any]:
    return {
        "label": label,
        "channel": channel,
        "target": target,
        "first_response": first,
        "first_median": minutes_words(first.median_minutes),
        "first_p90": minutes_words(first.p90_minutes),
        "resolution": resolution,
        "resolution_median": minutes_words(resolution.median_minutes),
        "resolution_p90": minutes_words(resolution.p90_minutes),
    }


api_urlpatterns: list[URLPattern] = [path("analytics/sla/", SlaApi.as_view(), name="analytics-sla")]
admin_urlpatterns: list[URLPattern] = [path("sla/", insights_page(sla_page), name="sla")]
