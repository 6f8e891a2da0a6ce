from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from kb import services
from kb.admin import library
from kb.admin.base import LibraryAdmin, ServedBrandsLibrary, ServiceModelForm, apply_each, report_outcome
from kb.admin.examples import ExampleInline
from kb.admin.responses import ResponseInline
from kb.models import Example, Issue, Response
from kb.selectors import SEARCHED_FIELDS


class IssueForm(ServiceModelForm):
    # Tags are typed, not picked: a new tag is just a new word. Saved by issue_create/issue_update.
    tag_names = forms.CharField(
        label="Tags",
        required=False,
        help_text="Separate with commas or spaces, e.g. baggage, delay. New tags are created as needed.",
        widget=forms.TextInput(attrs={"size": 60}),
    )
    service_error_fields = {"tags": "tag_names"}

    class Meta:
        exclude = ["tags"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4, "cols": 90}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "tag_names" in self.fields and self.instance.pk is not None:
            self.initial.setdefault("tag_names", ", ".join(self._stored_tags()))
        if "severity" in self.fields:  # a form posted without it (a script) reads as normal
            self.fields["severity"].required = False

    def _stored_tags(self) -> list[str]:
        # On the revert page the instance is an earlier version: offer the tags it had then.
        version = getattr(self.instance, "_history", None)
        if version is not None:
            return sorted(version.tags.values_list("tag__name", flat=True))
        return sorted(self.instance.tags.values_list("name", flat=True))

    def clean_severity(self) -> str:
        return self.cleaned_data.get("severity") or Issue.Severity.NORMAL

    def clean_tag_names(self) -> list[str]:
        return [name for name in re.split(r"[\s,]+", self.cleaned_data["tag_names"].lower()) if name]

    def service_values(self) -> dict[str, Any]:
        values = super().service_values()
        if "tag_names" in self.cleaned_data:
            values["tags"] = self.cleaned_data["tag_names"]
        return values


class HasApprovedResponseFilter(admin.SimpleListFilter):
    title = "approved response"
    parameter_name = "approved"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Has an approved response"), ("no", "No approved response")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Issue]) -> QuerySet[Issue]:
        approved = Response.objects.filter(issue=OuterRef("pk"), status=Response.Status.APPROVED)
        if self.value() == "yes":
            return queryset.filter(Exists(approved))
        if self.value() == "no":
            return queryset.exclude(Exists(approved))
        return queryset


def _count_of(model: Any, **filters: Any) -> Coalesce:
    rows = model.objects.filter(issue=OuterRef("pk"), **filters).order_by().values("issue")
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), 0)


@admin.register(Issue)
class IssueAdmin(ServedBrandsLibrary, LibraryAdmin):
    form = IssueForm
    service_fields = services.ISSUE_FIELDS
    inlines = [ExampleInline, ResponseInline]
    change_list_template = "admin/kb/issue/change_list.html"
    save_on_top = True
    list_display = [
        "key",
        "title",
        "brand",
        "severity",
        "department",
        "tag_list",
        "private_channel",
        "active",
        "active_examples",
        "approved_responses",
    ]
    list_filter = [
        "brand",
        "severity",
        "department",
        "is_active",
        "private_channel",
        HasApprovedResponseFilter,
        "tags",
    ]
    list_select_related = ["brand", "department"]
    search_fields = SEARCHED_FIELDS["issue"]
    ordering = ["key"]
    autocomplete_fields = ["brand"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    actions = ["retire_selected", "restore_selected"]
    history_list_display = ["is_active"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        main = ["key", "brand", "title", "description", "tag_names", "private_channel"]
        main += ["severity", "department"]
        if obj is None:
            return [(None, {"fields": main})]
        return [
            (None, {"fields": [*main, "is_active"]}),
            ("Record", {"fields": [("created_by", "created_at", "updated_at")], "classes": ["collapse"]}),
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Issue]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_example_count=_count_of(Example, status=Example.Status.ACTIVE),
                approved_response_count=_count_of(Response, status=Response.Status.APPROVED),
            )
            .prefetch_related("tags")
        )

    @admin.display(description="tags")
    def tag_list(self, issue: Issue) -> str:
        return ", ".join(tag.name for tag in issue.tags.all())

    @admin.display(description="active", boolean=True, ordering="is_active")
    def active(self, issue: Issue) -> bool:
        return issue.is_active

    @admin.display(description="active examples", ordering="active_example_count")
    def active_examples(self, issue: Issue) -> int:
        return issue.active_example_count  # type: ignore[attr-defined]

    @admin.display(description="approved responses", ordering="approved_response_count")
    def approved_responses(self, issue: Issue) -> str:
        # A way straight to this issue's responses, to review or approve them in bulk.
        return format_html(
            '<a href="{}?issue__id__exact={}" title="All responses to this issue">{}</a>',
            reverse("admin:kb_response_changelist"),
            issue.pk,
            issue.approved_response_count,  # type: ignore[attr-defined]
        )

    def service_create(self, request: HttpRequest, values: dict[str, Any]) -> Issue:
        values.pop("is_active", None)  # not on the add page; a new issue is active
        return services.issue_create(created_by=request.user, **values)

    def service_update(self, request: HttpRequest, obj: Issue, values: dict[str, Any]) -> Issue:
        return services.issue_update(issue=obj, updated_by=request.user, **values)

    @admin.action(description="Retire selected issues (never suggested again)", permissions=["change"])
    def retire_selected(self, request: HttpRequest, queryset: QuerySet[Issue]) -> None:
        succeeded, failed = apply_each(
            queryset, lambda issue: services.issue_retire(issue=issue, retired_by=request.user)
        )
        report_outcome(request, self, done="retired", succeeded=succeeded, failed=failed)

    @admin.action(description="Restore selected issues", permissions=["change"])
    def restore_selected(self, request: HttpRequest, queryset: QuerySet[Issue]) -> None:
        succeeded, failed = apply_each(
            queryset, lambda issue: services.issue_restore(issue=issue, restored_by=request.user)
        )
        report_outcome(request, self, done="restored", succeeded=succeeded, failed=failed)

    # ---- the library file --------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="kb_issue_import"),
            path("export/", wrap(self.export_view), name="kb_issue_export"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        context = {"kb_can_import": library.can_import(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        return library.import_view(self, request)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        return library.export_view(self, request)
