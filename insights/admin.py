"""Content gaps in the admin: open clusters, largest or rising first, with their example mentions;
turn one into a new issue, dismiss it, or find the gaps again now. Every write goes through
insights.gaps, as the API's do."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html_join
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from insights.access import can_see_insights, gaps_visible_to
from insights.gaps import (
    GROWTH,
    GapRunInProgress,
    can_act_on_gaps,
    gap_convert,
    gap_dismiss,
    gap_example_phrasings,
    gap_examples,
    gap_issue_defaults,
)
from insights.models import GapCluster, GapMember, GapRun
from insights.tasks import gaps_find_start
from kb.admin.base import apply_each, report_outcome
from kb.models import Brand, Issue
from kb.selectors import brand_choices
from suggestions.admin import ReadOnlyAdmin

EXAMPLES_LISTED = 3


class GapConvertForm(forms.Form):
    key = forms.CharField(max_length=Issue._meta.get_field("key").max_length)
    title = forms.CharField(
        max_length=Issue._meta.get_field("title").max_length, widget=forms.TextInput(attrs={"size": 80})
    )
    brand = forms.ModelChoiceField(Brand.objects.all(), required=False, empty_label="Every brand")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        brands, default = brand_choices(user)
        field = self.fields["brand"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = brands
        if default is not None:  # someone who serves particular brands makes issues for those only
            field.required, field.empty_label = True, None


class GapStatusFilter(admin.SimpleListFilter):
    """Open clusters unless asked otherwise: they are the ones waiting for an editor."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*GapCluster.Status.choices, ("all", "All")]

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": (self.value() or GapCluster.Status.OPEN) == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[GapCluster]) -> QuerySet[GapCluster]:
        wanted = self.value() or GapCluster.Status.OPEN
        return queryset if wanted == "all" else queryset.filter(status=wanted)


class GapMemberInline(admin.TabularInline):
    model = GapMember
    fields = ("mention", "reason", "received", "centrality", "is_example")
    readonly_fields = fields
    ordering = ["-is_example", "-centrality"]
    extra = 0
    can_delete = False

    @admin.display(description="mention")
    def mention(self, member: GapMember) -> str:
        return member.request.text

    @admin.display(description="asked at")
    def received(self, member: GapMember) -> Any:
        return member.request.created_at

    def get_queryset(self, request: HttpRequest) -> QuerySet[GapMember]:
        return super().get_queryset(request).select_related("request")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_see_insights(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class GapsReadOnlyAdmin(ReadOnlyAdmin):
    """Seen by whoever may read what the engine was asked (the gaps are made of it); written
    only through insights.gaps."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can_see_insights(request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_see_insights(request.user)


@admin.register(GapCluster)
class GapClusterAdmin(GapsReadOnlyAdmin):
    list_display = [
        "short_label",
        "volume",
        "trend_label",
        "example_mentions",
        "brand",
        "channel",
        "first_seen",
        "last_seen",
        "status",
    ]
    list_display_links = ["short_label"]
    list_filter = [GapStatusFilter, ("brand", admin.RelatedOnlyFieldListFilter), "channel"]
    search_fields = ["label", "members__request__text"]
    fields = (
        "label",
        "status",
        "volume",
        "recent",
        "previous",
        "first_seen",
        "last_seen",
        "brand",
        "channel",
        "issue",
        "decided_by",
        "decided_at",
        "run",
    )
    readonly_fields = fields
    inlines = [GapMemberInline]
    actions = ["convert_selected", "dismiss_selected"]
    change_list_template = "admin/insights/gap_change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[GapCluster]:
        examples = GapMember.objects.filter(is_example=True).select_related("request").order_by("-centrality")
        return (
            super()
            .get_queryset(request)
            .filter(gaps_visible_to(request.user))
            .select_related("brand")
            .prefetch_related(Prefetch("members", queryset=examples, to_attr="example_members"))
        )

    @admin.display(description="gap", ordering="label")
    def short_label(self, cluster: GapCluster) -> str:
        return Truncator(cluster.label).chars(90)

    @admin.display(description="trend (7 days)", ordering=GROWTH)
    def trend_label(self, cluster: GapCluster) -> str:
        return f"{cluster.trend:+d} ({cluster.recent} vs {cluster.previous})"

    @admin.display(description="example mentions")
    def example_mentions(self, cluster: GapCluster) -> str:
        members = getattr(cluster, "example_members", None) or gap_examples(cluster=cluster)
        texts = ((Truncator(member.request.text).chars(120),) for member in members[:EXAMPLES_LISTED])
        return format_html_join("", "<div>{}</div>", texts)

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        # Not `ordering`: the admin's checks take only field names there.
        return ["-volume", GROWTH.desc(), "-id"]

    def has_act_permission(self, request: HttpRequest) -> bool:
        return can_act_on_gaps(request.user)

    # ---- actions ------------------------------------------------------------------------------

    @admin.action(description="Turn the selected gap into a new issue…", permissions=["act"])
    def convert_selected(self, request: HttpRequest, queryset: QuerySet[GapCluster]) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one gap to turn into an issue.", messages.WARNING)
            return None
        cluster = queryset.get()
        return HttpResponseRedirect(reverse("admin:insights_gapcluster_convert", args=[cluster.pk]))

    @admin.action(description="Dismiss selected gaps", permissions=["act"])
    def dismiss_selected(self, request: HttpRequest, queryset: QuerySet[GapCluster]) -> None:
        succeeded, failed = apply_each(
            queryset, lambda cluster: gap_dismiss(cluster=cluster, dismissed_by=request.user)
        )
        report_outcome(request, self, done="dismissed", succeeded=succeeded, failed=failed)

    # ---- pages --------------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        convert = self.admin_site.admin_view(self.convert_view)
        find = self.admin_site.admin_view(require_POST(self.find_view))
        return [
            path("<int:cluster_id>/convert/", convert, name="insights_gapcluster_convert"),
            path("find/", find, name="insights_gapcluster_find"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        extra = {
            "can_act": can_act_on_gaps(request.user),
            "last_run": GapRun.objects.first(),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def find_view(self, request: HttpRequest) -> HttpResponse:
        """ "Find content gaps now": queue a run (without a broker, it has run on return)."""
        if not can_act_on_gaps(request.user):
            raise PermissionDenied
        try:
            started = gaps_find_start()
        except GapRunInProgress as busy:
            self.message_user(request, str(busy), messages.WARNING)
        else:
            if started.run is None:
                self.message_user(request, "Looking for content gaps; reload this page in a minute.")
            else:
                run = started.run
                self.message_user(
                    request,
                    f"Found {run.clusters} gaps in {run.mentions} mentions ({run.noise} fit no cluster).",
                    messages.SUCCESS,
                )
        return HttpResponseRedirect(reverse("admin:insights_gapcluster_changelist"))

    def convert_view(self, request: HttpRequest, cluster_id: int) -> HttpResponse:
        """A form asking the new issue's key, title and brand, pre-filled from the cluster."""
        if not can_act_on_gaps(request.user):
            raise PermissionDenied
        cluster = get_object_or_404(GapCluster.objects.filter(gaps_visible_to(request.user)), pk=cluster_id)
        changelist = reverse("admin:insights_gapcluster_changelist")
        if cluster.status != GapCluster.Status.OPEN:
            self.message_user(request, f"This gap was already {cluster.get_status_display().lower()}.")
            return HttpResponseRedirect(changelist)
        defaults = gap_issue_defaults(cluster=cluster)
        form = GapConvertForm(request.POST or None, initial=defaults, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                issue = gap_convert(cluster=cluster, converted_by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                self.message_user(
                    request,
                    f"Issue “{issue.key}” created with {issue.examples.count()} example phrasings; "
                    "add an approved response so it can be suggested.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:kb_issue_change", args=[issue.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Turn a content gap into an issue",
            "opts": self.model._meta,
            "cluster": cluster,
            "form": form,
            "examples": gap_examples(cluster=cluster),
            "phrasings": gap_example_phrasings(cluster=cluster),
        }
        return TemplateResponse(request, "admin/insights/gap_convert.html", context)


def _form_errors(form: forms.Form, error: ValidationError) -> None:
    """The service's refusal, each message on its field (a taken key on `key`)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@admin.register(GapRun)
class GapRunAdmin(GapsReadOnlyAdmin):
    list_display = ["started_at", "trigger", "status", "mentions", "clusters", "noise", "took_ms", "error"]
    list_filter = ["status", "trigger"]
