"""Library health and agents' common edits, for editors and leads:

- GET /api/v1/library-health/?brand=KEY&days=30&expiring_within=14: the health report; ``days``
  is the period for "never suggested" and "rarely accepted", ``expiring_within`` how far ahead
  an expiring response is reported.
- GET /api/v1/common-edits/?brand=KEY&days=30: the recurring edits of each response.
- /admin/insights/health/ and /admin/insights/edits/: the same as admin pages.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from insights import edits, health
from insights.access import CanSeeInsights, insights_page
from kb import services
from kb.admin.base import error_lines, form_problems
from kb.api import BrandKeyField, BrandScoped
from kb.models import Brand, Example, Issue
from kb.selectors import brand_choices

MAX_DAYS = 365


# -- REST -----------------------------------------------------------------------------------------


class EditsQuerySerializer(BrandScoped):
    brand = BrandKeyField(
        required=False, help_text="Only issues serving this brand (issues without a brand serve every brand)."
    )
    days = serializers.IntegerField(
        min_value=1, max_value=MAX_DAYS, default=health.DEFAULT_USAGE_DAYS, help_text="The period looked at."
    )


class HealthQuerySerializer(EditsQuerySerializer):
    expiring_within = serializers.IntegerField(
        min_value=1,
        max_value=MAX_DAYS,
        default=health.DEFAULT_EXPIRING_DAYS,
        help_text="Report live responses whose validity ends within this many days.",
    )


class LibraryHealthApi(APIView):
    """Conflicting examples, issues missing a channel, responses too long, expiring, never
    suggested or rarely accepted."""

    permission_classes = [permissions.IsAuthenticated, CanSeeInsights]

    @extend_schema(parameters=[HealthQuerySerializer], responses={200: dict})
    def get(self, request: Request) -> ApiResponse:
        query = HealthQuerySerializer(data=request.query_params, context={"user": request.user})
        query.is_valid(raise_exception=True)
        report = health.library_health(
            brand=query.validated_data.get("brand"),
            usage_days=query.validated_data["days"],
            expiring_days=query.validated_data["expiring_within"],
        )
        return ApiResponse(asdict(report))


class CommonEditsApi(APIView):
    """For each response, the edits agents keep making to it before sending."""

    permission_classes = [permissions.IsAuthenticated, CanSeeInsights]

    @extend_schema(parameters=[EditsQuerySerializer], responses={200: dict})
    def get(self, request: Request) -> ApiResponse:
        query = EditsQuerySerializer(data=request.query_params, context={"user": request.user})
        query.is_valid(raise_exception=True)
        found = edits.common_edits(brand=query.validated_data.get("brand"), days=query.validated_data["days"])
        return ApiResponse(
            {
                "brand": query.validated_data["brand"].key if query.validated_data.get("brand") else None,
                "days": query.validated_data["days"],
                "min_edits": edits.MIN_EDITS,
                "min_share": float(edits.MIN_SHARE),
                "responses": [asdict(item) for item in found],
            }
        )


# -- Admin pages ----------------------------------------------------------------------------------


class EditsFilterForm(forms.Form):
    brand = forms.ModelChoiceField(
        Brand.objects.all(), required=False, to_field_name="key", empty_label="Every brand"
    )
    days = forms.IntegerField(
        min_value=1, max_value=MAX_DAYS, required=False, help_text=f"Default {health.DEFAULT_USAGE_DAYS}."
    )

    def __init__(self, data: Any, *, user: Any) -> None:
        super().__init__(data)
        # Someone who serves particular brands picks among them, their first one by default.
        choices, self.default_brand = brand_choices(user)
        field = self.fields["brand"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = choices
        if self.default_brand is not None:
            field.empty_label = None

    def value(self, name: str, default: Any) -> Any:
        """A cleaned value, or ``default`` when it was left empty or the form is invalid."""
        if not self.is_valid() or self.cleaned_data.get(name) is None:
            return default
        return self.cleaned_data[name]


class HealthFilterForm(EditsFilterForm):
    expiring_within = forms.IntegerField(
        min_value=1,
        max_value=MAX_DAYS,
        required=False,
        label="Expiring within (days)",
        help_text=f"Default {health.DEFAULT_EXPIRING_DAYS}.",
    )


def _render(request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
    return TemplateResponse(
        request, template, {**admin.site.each_context(request), "title": title, **context}
    )


def health_page(request: HttpRequest) -> HttpResponse:
    """The health report as an admin page, each finding linked to the object to fix."""
    form = HealthFilterForm(request.GET, user=request.user)
    report = health.library_health(
        brand=form.value("brand", form.default_brand),
        usage_days=form.value("days", health.DEFAULT_USAGE_DAYS),
        expiring_days=form.value("expiring_within", health.DEFAULT_EXPIRING_DAYS),
    )
    pairs = health.conflicts_by_pair(report.conflicts.found)
    return _render(
        request,
        "admin/insights/health.html",
        "Library health",
        form=form,
        report=report,
        conflict_pairs=pairs,
        conflicting_issues=len({pair.issue for pair in pairs}),
        may_edit_examples=request.user.has_perm("kb.change_example"),
    )


class ConflictResolveForm(forms.Form):
    action = forms.ChoiceField(choices=[("move", "Move"), ("retire", "Retire")])
    # The issue the report showed the example in: an example moved since is left alone.
    issue = forms.IntegerField(required=False)
    to_issue = forms.IntegerField(required=False)


@require_POST
def conflict_resolve(request: HttpRequest, example_id: int) -> HttpResponse:
    """One conflicting example moved to the issue it is closer to, or retired; back to the report."""
    if not request.user.has_perm("kb.change_example"):
        raise PermissionDenied
    example = get_object_or_404(Example.objects.select_related("issue"), pk=example_id)
    given = ConflictResolveForm(request.POST)
    if not given.is_valid():
        return HttpResponse(form_problems(given), status=400, content_type="text/plain")
    back = request.META.get("HTTP_REFERER") or reverse("insights:health")
    if given.cleaned_data["issue"] not in (None, example.issue_id):
        messages.warning(request, f"“{example.text}” changed since the report: nothing done. Look again.")
        return redirect(back)
    try:
        if given.cleaned_data["action"] == "retire":
            services.example_retire(example=example, retired_by=request.user)
            messages.success(request, f"Retired “{example.text}”.")
        else:
            target = _closer_issue(example, given.cleaned_data["to_issue"])
            services.example_update(example=example, updated_by=request.user, issue=target)
            messages.success(request, f"Moved “{example.text}” to “{target.title}”.")
    except (ValidationError, PermissionDenied) as refusal:
        messages.error(request, " ".join(error_lines(refusal)))
    return redirect(back)


def _closer_issue(example: Example, to_issue: int | None) -> Issue:
    """The issue the report says ``example`` is closer to (or the one named, when given)."""
    if to_issue is not None:
        return get_object_or_404(Issue, pk=to_issue)
    for conflict in health.examples_conflicting().found:
        if conflict.example_id == example.pk:
            return Issue.objects.get(pk=conflict.other_issue.id)
    raise ValidationError("This example is no longer closer to another issue.")


def edits_page(request: HttpRequest) -> HttpResponse:
    """Agents' recurring edits, response by response, linked to the response to revise."""
    form = EditsFilterForm(request.GET, user=request.user)
    days = form.value("days", health.DEFAULT_USAGE_DAYS)
    return _render(
        request,
        "admin/insights/edits.html",
        "Agents' common edits",
        form=form,
        days=days,
        responses=edits.common_edits(brand=form.value("brand", form.default_brand), days=days),
        min_edits=edits.MIN_EDITS,
        min_share=edits.MIN_SHARE,
    )


api_urlpatterns: list[URLPattern] = [
    path("library-health/", LibraryHealthApi.as_view(), name="library-health"),
    path("common-edits/", CommonEditsApi.as_view(), name="common-edits"),
]
admin_urlpatterns: list[URLPattern] = [
    path("health/", insights_page(health_page), name="health"),
    path(
        "health/conflicts/<int:example_id>/",
        insights_page(conflict_resolve),
        name="conflict-resolve",
    ),
    path("edits/", insights_page(edits_page), name="edits"),
]
