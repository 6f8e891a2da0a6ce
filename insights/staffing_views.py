"""Staffing from data, over REST and as an admin page.

- GET /api/v1/analytics/staffing/?brand=KEY&target_minutes=60&service_level=0.8: for each of the
  168 hours of the week (Monday 0, hours 0-23 in the site's time zone), arrivals per hour, handle
  minutes, agents needed (Erlang C) and agents who worked; then the formula's inputs, per-agent
  and per-issue figures.
- /admin/insights/staffing/: the same as a heatmap of arrivals, agents needed against worked, and
  the per-agent table.

Query parameters: those of every analytics view (``brand``, ``channel``, ``since``, ``until``;
default the last 30 days), ``target_minutes`` (default CARELINE_RESPONSE_TARGET_MINUTES) and
``service_level`` (the share answered within the target, default 0.8)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from insights.access import CanSeeInsights, insights_page
from insights.analytics import AnalyticsFilter, analytics_filter
from insights.analytics_views import AnalyticsQuerySerializer, duration_text
from insights.staffing import HourOfWeek, Staffing, StaffingGoal, staffing_read
from kb.channels import Channel
from kb.selectors import brand_choices

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_TARGET_MINUTES = 7 * 24 * 60


def in_open_unit_interval(value: float) -> None:
    if not 0 < value < 1:
        raise serializers.ValidationError("Must be a share between 0 and 1, both excluded (0.8 for 80%).")


class StaffingQuerySerializer(AnalyticsQuerySerializer):
    """The analytics filter, and the promise to staff for."""

    target_minutes = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=MAX_TARGET_MINUTES,
        help_text="The wait a mention may have before an agent starts on it; default the response target.",
    )
    service_level = serializers.FloatField(
        default=0.8,
        validators=[in_open_unit_interval],
        help_text="The share of mentions to start within the target, between 0 and 1.",
    )

    def staffing(self) -> tuple[AnalyticsFilter, StaffingGoal]:
        data = dict(self.validated_data)
        target = data.pop("target_minutes", None)
        level = data.pop("service_level")
        data.pop("bucket")  # staffing is by hour of the week
        filters = analytics_filter(**data)
        minutes = float(settings.CARELINE_RESPONSE_TARGET_MINUTES if target is None else target)
        return filters, StaffingGoal(target_minutes=minutes, service_level=level)


def staffing_query(params: QueryDict, user: Any) -> StaffingQuerySerializer:
    # Empty form fields mean "any", as on the other insights pages.
    return StaffingQuerySerializer(
        data={name: value for name, value in params.items() if value}, context={"user": user}
    )


def _round(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


def hour_data(hour: HourOfWeek) -> dict[str, Any]:
    return {
        "weekday": hour.weekday,
        "hour": hour.hour,
        "arrivals_per_hour": _round(hour.arrivals_per_hour),
        "handle_minutes": _round(hour.handle_minutes),
        "agents_needed": hour.agents_needed,
        "agents_worked": _round(hour.agents_worked),
        "load_erlangs": _round(hour.load, 3),
        "arrivals": hour.arrivals,
        "occurrences": hour.occurrences,
        "timed": hour.timed,
    }


def staffing_data(filters: AnalyticsFilter, staffing: Staffing) -> dict[str, Any]:
    goal = staffing.goal
    return {
        "hours": [hour_data(hour) for hour in staffing.hours],
        "inputs": {
            "brand": filters.brand.key if filters.brand else None,
            "channel": filters.channel or None,
            "since": filters.since,
            "until": filters.until,
            "target_minutes": goal.target_minutes,
            "service_level": goal.service_level,
            "arrivals": staffing.arrivals,
            "timed": staffing.timed,
            "mean_handle_minutes": _round(staffing.mean_handle_minutes),
            "formula": "Erlang C: service level = 1 - C(N, A) * exp(-(N - A) * target / handle time), "
            "A = arrivals per hour * handle minutes / 60; agents needed = the smallest N > A "
            "reaching the service level.",
        },
        "agents": [
            {
                "username": agent.username,
                "name": agent.name,
                "answered": agent.answered,
                "dismissed": agent.dismissed,
                "median_first_response_minutes": _round(agent.median_first_response_minutes),
                "median_handle_minutes": _round(agent.median_handle_minutes),
                "drafts_accepted": agent.drafts_accepted,
                "drafts_edited": agent.drafts_edited,
                "acceptance_rate": _round(agent.acceptance_rate, 4),
            }
            for agent in staffing.agents
        ],
        "issues": [
            {
                "issue": issue.key,
                "title": issue.title,
                "timed": issue.timed,
                "median_handle_minutes": _round(issue.median_handle_minutes),
            }
            for issue in staffing.issues
        ],
    }


class StaffingApi(APIView):
    """For each of the 168 hours of the week: arrivals per hour, handle minutes, agents needed for
    the service level (Erlang C) and agents who worked; the inputs; per-agent and per-issue figures."""

    permission_classes = [permissions.IsAuthenticated, CanSeeInsights]

    @extend_schema(parameters=[StaffingQuerySerializer], responses={200: dict})
    def get(self, request: Request) -> HttpResponse:
        query = staffing_query(request.query_params, request.user)
        query.is_valid(raise_exception=True)
        filters, goal = query.staffing()
        return ApiResponse(staffing_data(filters, staffing_read(filters=filters, goal=goal)))


# -- Admin page -------------------------------------------------------------------------------------


def staffing_page(request: HttpRequest) -> HttpResponse:
    """The filter form with the target and service level, the inputs, a heatmap of arrivals by hour
    and weekday, agents needed against worked per hour, and the per-agent table."""
    brands, default_brand = brand_choices(request.user)
    params = request.GET.copy()
    if default_brand is not None and not params.get("brand"):
        params["brand"] = default_brand.key
    query = staffing_query(params, request.user)
    page: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": "Staffing",
        "brands": brands,
        "every_brand": default_brand is None,
        "channels": Channel.choices,
        "given": request.GET.dict(),
        "errors": {},
    }
    if not query.is_valid():
        page["errors"] = query.errors
        return TemplateResponse(request, "admin/insights/staffing.html", page)
    filters, goal = query.staffing()
    staffing = staffing_read(filters=filters, goal=goal)
    data = staffing_data(filters, staffing)
    given = {
        name: str(value) for name, value in data["inputs"].items() if name != "formula" and value is not None
    }
    page.update(
        given=given,
        staffing=staffing,
        inputs=data["inputs"],
        mean_handle=duration_text(None)
        if staffing.mean_handle_minutes is None
        else f"{staffing.mean_handle_minutes:.1f} min",
        heatmap=heatmap_rows(staffing),
        by_hour=hour_rows(data["hours"]),
        chart={"hours": data["hours"]},
    )
    return TemplateResponse(request, "admin/insights/staffing.html", page)


def hour_rows(hours: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The hours anything happened in, with the gap between agents who worked and agents needed."""
    rows = []
    for hour in hours:
        if not (hour["arrivals"] or hour["agents_worked"]):
            continue
        needed = hour["agents_needed"]
        gap = None if needed is None else hour["agents_worked"] - needed
        rows.append(
            {
                **hour,
                "weekday_name": WEEKDAYS[hour["weekday"]],
                "gap_text": "—" if gap is None else f"{gap:+.1f}",
                "short": gap is not None and gap < 0,
            }
        )
    return rows


def heatmap_rows(staffing: Staffing) -> list[dict[str, Any]]:
    """One row per weekday, a cell per hour: arrivals per hour and a shade from 0 to 9 (the busiest)."""
    busiest = max((hour.arrivals_per_hour for hour in staffing.hours), default=0.0)
    rows = []
    for weekday, name in enumerate(WEEKDAYS):
        cells = []
        for hour in staffing.hours[weekday * 24 : weekday * 24 + 24]:
            shade = round(9 * hour.arrivals_per_hour / busiest) if busiest else 0
            cells.append(
                {
                    "hour": hour.hour,
                    "value": _round(hour.arrivals_per_hour, 1),
                    "shade": shade,
                    "needed": hour.agents_needed,
                }
            )
        rows.append({"weekday": name, "cells": cells})
    return rows


api_urlpatterns: list[URLPattern] = [
    path("analytics/staffing/", StaffingApi.as_view(), name="analytics-staffing"),
]
admin_urlpatterns: list[URLPattern] = [
    path("staffing/", insights_page(staffing_page), name="staffing"),
]
