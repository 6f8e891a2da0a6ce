"""Analytics for editors and leads, over REST (JSON and CSV) and as an admin dashboard.

- GET /api/v1/analytics/summary/: mentions, shares abstained and answered, time to answer, abstain
  rate per bucket.
- GET /api/v1/analytics/responses/ (and responses.csv): each response shown, with acceptance.
- GET /api/v1/analytics/issues/ (and issues.csv): mention volume per issue per bucket, and
  acceptance by issue.
- /admin/insights/analytics/: the same on one page, with charts.

Query parameters everywhere: ``brand`` (key), ``channel``, ``since`` and ``until`` (ISO dates,
both included; default the last 30 days), ``bucket`` (day or week). Only people who may read
suggestion requests (editors, leads) get in."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from config import csv_safe
from insights.access import CanSeeInsights, insights_page
from insights.analytics import (
    ACCEPTANCE_RATE_DEFINITION,
    BUCKETS,
    AnalyticsFilter,
    Usage,
    abstentions_over_time,
    analytics_filter,
    issues_usage,
    issues_volume,
    mentions_summary,
    responses_usage,
)
from kb.api import BrandKeyField, BrandScoped
from kb.channels import Channel
from kb.selectors import brand_choices

# Periods lie in these years: a date far outside them is a typo, and date arithmetic overflows
# near year 1 and 9999.
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def in_period_bounds(value: date) -> None:
    if not EARLIEST <= value <= LATEST:
        raise serializers.ValidationError(f"Must be between {EARLIEST} and {LATEST}.")


class AnalyticsQuerySerializer(BrandScoped):
    """The filter every analytics view takes from its query string."""

    brand = BrandKeyField(required=False, help_text="Brand key; default every brand.")
    channel = serializers.ChoiceField(
        choices=Channel.choices, required=False, help_text="Channel the mention came on; default every one."
    )
    since = serializers.DateField(
        required=False,
        validators=[in_period_bounds],
        help_text="First day counted (ISO date); default 29 days before until.",
    )
    until = serializers.DateField(
        required=False, validators=[in_period_bounds], help_text="Last day counted (ISO date); default today."
    )
    bucket = serializers.ChoiceField(choices=BUCKETS, default="day", help_text="Group series by day or week.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        since, until = attrs.get("since"), attrs.get("until")
        if since and until and since > until:
            raise serializers.ValidationError({"since": "Must be on or before until."})
        return attrs

    def read(self) -> tuple[AnalyticsFilter, str]:
        """The validated filter, and the bucket its series are grouped by."""
        data = dict(self.validated_data)
        bucket = str(data.pop("bucket"))
        return analytics_filter(**data), bucket


def query_for(params: QueryDict, user: Any) -> AnalyticsQuerySerializer:
    # Empty form fields ("?brand=&channel=") mean "any", as on the admin page's filter form.
    return AnalyticsQuerySerializer(
        data={name: value for name, value in params.items() if value}, context={"user": user}
    )


# -- Output -----------------------------------------------------------------------------------------


def filters_data(filters: AnalyticsFilter, bucket: str) -> dict[str, Any]:
    return {
        "brand": filters.brand.key if filters.brand else None,
        "channel": filters.channel or None,
        "since": filters.since,
        "until": filters.until,
        "bucket": bucket,
    }


def seconds(duration: timedelta | None) -> float | None:
    return None if duration is None else round(duration.total_seconds(), 1)


def rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


USAGE_COUNTS = ("suggested", "shown_first", "accepted", "edited", "rejected")


def usage_data(usage: Usage) -> dict[str, Any]:
    counts = {name: getattr(usage, name) for name in USAGE_COUNTS}
    return {**counts, "acceptance_rate": rate(usage.acceptance_rate)}


def response_data(usage: Usage) -> dict[str, Any]:
    issue = {"key": usage.issue_key, "title": usage.issue_title}
    return {"response": usage.response_key, "channel": usage.channel, "issue": issue, **usage_data(usage)}


def issue_data(usage: Usage) -> dict[str, Any]:
    return {"issue": {"key": usage.issue_key, "title": usage.issue_title}, **usage_data(usage)}


def summary_data(filters: AnalyticsFilter, bucket: str) -> dict[str, Any]:
    summary = mentions_summary(filters=filters)
    return {
        "mentions": summary.mentions,
        "trials": summary.trials,
        "abstained": summary.abstained,
        "abstained_share": rate(summary.abstained_share),
        "answered": summary.answered,
        "answered_share": rate(summary.answered_share),
        "answered_from_candidates": summary.answered_from_candidates,
        "time_to_answer": {
            "median_seconds": seconds(summary.answer_median),
            "p90_seconds": seconds(summary.answer_p90),
            "timed": summary.timed,
            "with_received_at": summary.with_received_at,
        },
        "abstain_rate": abstain_rate_data(filters, bucket),
    }


def abstain_rate_data(filters: AnalyticsFilter, bucket: str) -> list[dict[str, Any]]:
    return [
        {
            "period": point.period,
            "mentions": point.mentions,
            "abstained": point.abstained,
            "rate": rate(point.rate),
        }
        for point in abstentions_over_time(filters=filters, bucket=bucket)
    ]


def volume_data(filters: AnalyticsFilter, bucket: str) -> dict[str, Any]:
    volume = issues_volume(filters=filters, bucket=bucket)
    return {
        "periods": volume.periods,
        "series": [
            {
                "issue": None if series.abstained else {"key": series.issue_key, "title": series.label},
                "label": series.label,
                "abstained": series.abstained,
                "counts": series.counts,
                "total": series.total,
            }
            for series in volume.series
        ],
    }


RESPONSE_COLUMNS = ["response", "channel", "issue", "issue_title", *USAGE_COUNTS, "acceptance_rate"]
ISSUE_COLUMNS = ["issue", "issue_title", *USAGE_COUNTS, "acceptance_rate"]


def usage_row(usage: Usage) -> list[Any]:
    return [usage.issue_key, usage.issue_title, *usage_data(usage).values()]


def csv_download(
    name: str, filters: AnalyticsFilter, columns: list[str], rows: Iterable[list[Any]]
) -> HttpResponse:
    """A CSV file with a header row, named for what it holds and its period."""
    download = HttpResponse(content_type="text/csv; charset=utf-8")
    download["Content-Disposition"] = f'attachment; filename="{name}-{filters.since}-{filters.until}.csv"'
    writer = csv_safe.writer(download)  # no cell runs as a formula in a spreadsheet
    writer.writerow(columns)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return download


# -- REST -------------------------------------------------------------------------------------------


class AnalyticsApi(APIView):
    """GET with the analytics filter; each subclass says what it reads for it."""

    permission_classes = [permissions.IsAuthenticated, CanSeeInsights]

    def read(self, request: Request) -> tuple[AnalyticsFilter, str]:
        query = query_for(request.query_params, request.user)
        query.is_valid(raise_exception=True)
        return query.read()

    @extend_schema(parameters=[AnalyticsQuerySerializer], responses={200: dict})
    def get(self, request: Request) -> HttpResponse:
        filters, bucket = self.read(request)
        return ApiResponse({"filters": filters_data(filters, bucket), **self.data(filters, bucket)})

    def data(self, filters: AnalyticsFilter, bucket: str) -> dict[str, Any]:
        raise NotImplementedError


class AnalyticsCsvApi(AnalyticsApi):
    """The same filter, answered with a CSV table."""

    name = ""
    columns: list[str] = []

    @extend_schema(parameters=[AnalyticsQuerySerializer], responses={(200, "text/csv"): str})
    def get(self, request: Request) -> HttpResponse:
        filters, _ = self.read(request)
        return csv_download(self.name, filters, self.columns, self.rows(filters))

    def rows(self, filters: AnalyticsFilter) -> Iterable[list[Any]]:
        raise NotImplementedError


class SummaryApi(AnalyticsApi):
    """Mentions, shares abstained and answered, time from mention to answer (median, p90, and how
    many mentions it covers), and the abstain rate per bucket."""

    def data(self, filters: AnalyticsFilter, bucket: str) -> dict[str, Any]:
        return summary_data(filters, bucket)


class ResponsesApi(AnalyticsApi):
    """Each response shown: times suggested, shown first, accepted, edited, rejected, acceptance rate."""

    def data(self, filters: AnalyticsFilter, bucket: str) -> dict[str, Any]:
        return {
            "acceptance_rate": ACCEPTANCE_RATE_DEFINITION,
            "results": [response_data(usage) for usage in responses_usage(filters=filters)],
        }


class IssuesApi(AnalyticsApi):
    """Mention volume per issue per bucket (a mention belongs to its first suggestion's issue;
    abstained mentions are their own series), and acceptance by issue."""

    def data(self, filters: AnalyticsFilter, bucket: str) -> dict[str, Any]:
        return {
            **volume_data(filters, bucket),
            "acceptance_rate": ACCEPTANCE_RATE_DEFINITION,
            "acceptance": [issue_data(usage) for usage in issues_usage(filters=filters)],
        }


class ResponsesCsvApi(AnalyticsCsvApi):
    """The per-response table as CSV, with a header row."""

    name, columns = "responses", RESPONSE_COLUMNS

    def rows(self, filters: AnalyticsFilter) -> Iterable[list[Any]]:
        for usage in responses_usage(filters=filters):
            yield [usage.response_key, usage.channel, *usage_row(usage)]


class IssuesCsvApi(AnalyticsCsvApi):
    """Acceptance by issue as CSV, with a header row."""

    name, columns = "issues", ISSUE_COLUMNS

    def rows(self, filters: AnalyticsFilter) -> Iterable[list[Any]]:
        return map(usage_row, issues_usage(filters=filters))


# -- Admin dashboard --------------------------------------------------------------------------------


def filtered_page(
    request: HttpRequest,
    *,
    template: str,
    title: str,
    fill: Callable[[AnalyticsFilter, str, dict[str, str]], dict[str, Any]],
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """An insights page under the filter form (brand, channel, dates; a brand lead's own brand by
    default): ``fill(filters, bucket, given)`` gives what the page shows for valid filters; invalid
    ones show the form with its errors."""
    brands, default_brand = brand_choices(request.user)
    params = request.GET.copy()
    if default_brand is not None and not params.get("brand"):
        params["brand"] = default_brand.key
    query = query_for(params, request.user)
    page: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": title,
        "brands": brands,
        "every_brand": default_brand is None,
        "channels": Channel.choices,
        "given": request.GET.dict(),
        "errors": {},
        **(context or {}),
    }
    if not query.is_valid():
        page["errors"] = query.errors
        return TemplateResponse(request, template, page)
    filters, bucket = query.read()
    given = {name: str(value) for name, value in filters_data(filters, bucket).items() if value is not None}
    page.update(given=given, **fill(filters, bucket, given))
    return TemplateResponse(request, template, page)


def analytics_page(request: HttpRequest) -> HttpResponse:
    """The dashboard: filter form, summary figures, charts, the per-response table, CSV links."""
    return filtered_page(
        request,
        template="admin/insights/analytics.html",
        title="Analytics",
        fill=_dashboard,
        context={"buckets": BUCKETS, "acceptance_rate_definition": ACCEPTANCE_RATE_DEFINITION},
    )


def _dashboard(filters: AnalyticsFilter, bucket: str, given: dict[str, str]) -> dict[str, Any]:
    kept = urlencode(given)
    summary = mentions_summary(filters=filters)
    return {
        "summary": summary,
        "answer_median": duration_text(summary.answer_median),
        "answer_p90": duration_text(summary.answer_p90),
        "responses": responses_usage(filters=filters),
        "charts": {
            "volume": volume_data(filters, bucket),
            "acceptance": [issue_data(usage) for usage in issues_usage(filters=filters)],
            "abstain_rate": abstain_rate_data(filters, bucket),
        },
        "responses_csv": f"{reverse('analytics-responses-csv')}?{kept}",
        "issues_csv": f"{reverse('analytics-issues-csv')}?{kept}",
    }


def duration_text(duration: timedelta | None) -> str:
    """A wait as people say it: "45 s", "12 min", "3 h 5 min", "2 d 4 h"; a dash when unknown."""
    if duration is None:
        return "—"
    total = round(duration.total_seconds())
    sign, total = ("-", -total) if total < 0 else ("", total)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    # The largest unit that is not zero, then the next one unless it is zero.
    largest = next((n for n, (value, _) in enumerate(units) if value), len(units) - 1)
    shown = [units[largest], *(unit for unit in units[largest + 1 : largest + 2] if unit[0])]
    return sign + " ".join(f"{value} {name}" for value, name in shown)


api_urlpatterns: list[URLPattern] = [
    path("analytics/summary/", SummaryApi.as_view(), name="analytics-summary"),
    path("analytics/responses/", ResponsesApi.as_view(), name="analytics-responses"),
    path("analytics/responses.csv", ResponsesCsvApi.as_view(), name="analytics-responses-csv"),
    path("analytics/issues/", IssuesApi.as_view(), name="analytics-issues"),
    path("analytics/issues.csv", IssuesCsvApi.as_view(), name="analytics-issues-csv"),
]
admin_urlpatterns: list[URLPattern] = [
    path("analytics/", insights_page(analytics_page), name="analytics"),
]
