"""The engine in the admin: try a mention as an agent would, and read what was asked and answered."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from kb.admin.base import ServedBrandsOnly
from kb.admin.examples import ExampleAdmin
from kb.admin.responses import HTMX
from kb.channels import Channel
from kb.models import Brand, Example
from suggestions import selectors
from suggestions.index_store import IndexUnavailable
from suggestions.models import (
    ExampleProposal,
    Feedback,
    IndexRebuildRequest,
    IndexVersion,
    ProposedExample,
    SuggestionRequest,
)
from suggestions.privacy import personal_data_redact
from suggestions.progress import progress_describe
from suggestions.services import Mention, suggestions_for
from suggestions.tasks import index_rebuild_queue


class TryMentionForm(forms.Form):
    text = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3, "cols": 80}))
    brand = forms.ModelChoiceField(
        Brand.objects.all(), required=False, to_field_name="key", empty_label="Any brand"
    )
    channel = forms.ChoiceField(choices=Channel.choices, initial=settings.CARELINE_DEFAULT_CHANNEL)
    customer_name = forms.CharField(max_length=200, required=False)
    customer_handle = forms.CharField(max_length=100, required=False)
    agent_name = forms.CharField(max_length=200, required=False)
    limit = forms.IntegerField(min_value=1, max_value=settings.CARELINE_MAX_SUGGESTIONS, initial=5)

    def mention(self) -> Mention:
        data = self.cleaned_data
        return Mention(
            text=data["text"],
            brand=data["brand"],
            channel=data["channel"],
            author_name=data["customer_name"],
            author_handle=data["customer_handle"],
            agent_name=data["agent_name"],
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FeedbackInline(admin.TabularInline):
    model = Feedback
    extra = 0
    fields = readonly_fields = ("response", "action", "final_text", "given_by", "updated_at")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SuggestionRequest)
class SuggestionRequestAdmin(ServedBrandsOnly, ReadOnlyAdmin):
    list_display = ["created_at", "short_text", "brand", "channel", "abstained", "top_response", "took_ms"]
    list_filter = ["abstained", "channel", "brand"]
    search_fields = ["text", "external_id"]
    date_hierarchy = "created_at"
    list_select_related = ["brand"]
    inlines = [FeedbackInline]
    change_list_template = "admin/suggestions/suggestionrequest/change_list.html"

    @admin.display(description="Mention")
    def short_text(self, obj: SuggestionRequest) -> str:
        return obj.text[:80]

    @admin.display(description="First suggestion")
    def top_response(self, obj: SuggestionRequest) -> str:
        return obj.shown[0]["response"] if obj.shown else "—"

    def get_urls(self) -> list[URLPattern]:
        try_view = self.admin_site.admin_view(self.try_mention_view)
        return [path("try/", try_view, name="suggestions_try_mention"), *super().get_urls()]

    def try_mention_view(self, request: HttpRequest) -> HttpResponse:
        """What an agent would get for a mention, with scores and matched examples; stores nothing."""
        form = TryMentionForm(request.POST or None)
        answer = error = None
        if request.method == "POST" and form.is_valid():
            try:
                answer = suggestions_for(mention=form.mention(), limit=form.cleaned_data["limit"])
            except IndexUnavailable as exc:
                error = f"Suggestions are unavailable: {exc}"
        context = {
            **self.admin_site.each_context(request),
            "title": "Try a mention",
            "opts": self.model._meta,
            "form": form,
            "answer": answer,
            "error": error,
            "threshold": settings.CARELINE_ABSTAIN_THRESHOLD,
        }
        return TemplateResponse(request, "admin/suggestions/try_mention.html", context)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("kb.view_response")


@admin.register(IndexVersion)
class IndexVersionAdmin(ReadOnlyAdmin):
    list_display = ["version", "kind", "model", "count", "added", "removed", "took_ms", "activated_at"]
    list_filter = ["kind"]


@admin.register(IndexRebuildRequest)
class IndexRebuildRequestAdmin(ReadOnlyAdmin):
    """Full rebuilds asked for, a button to ask for one, and how far the newest got: that part
    refreshes itself (htmx) while the rebuild waits or runs."""

    list_display = ["requested_at", "requested_by", "status", "progress_line", "attempts", "version"]
    list_select_related = ["requested_by", "version"]
    change_list_template = "admin/suggestions/indexrebuildrequest/change_list.html"
    refresh_seconds = 1

    class Media:
        js = [HTMX]

    @admin.display(description="progress")
    def progress_line(self, rebuild: IndexRebuildRequest) -> str:
        return progress_describe(rebuild.progress or {})

    def get_urls(self) -> list[URLPattern]:
        rebuild = self.admin_site.admin_view(self.rebuild_view)
        progress = self.admin_site.admin_view(self.progress_view)
        return [
            path("rebuild/", rebuild, name="suggestions_indexrebuildrequest_rebuild"),
            path("progress/", progress, name="suggestions_indexrebuildrequest_progress"),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), **self._progress_context(request)})

    def rebuild_view(self, request: HttpRequest) -> HttpResponse:
        """Ask for a full rebuild, as POST /api/v1/index/rebuild/ does, and come back to the list."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("suggestions.rebuild_index"):
            raise PermissionDenied
        rebuild, _ = index_rebuild_queue(requested_by=request.user)
        rebuild.refresh_from_db()
        messages.success(request, f"Rebuild #{rebuild.pk} is {rebuild.status}.")
        return redirect("admin:suggestions_indexrebuildrequest_changelist")

    def progress_view(self, request: HttpRequest) -> HttpResponse:
        """The progress part of the list, for htmx to swap in."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return TemplateResponse(
            request, "admin/suggestions/indexrebuildrequest/_progress.html", self._progress_context(request)
        )

    def _progress_context(self, request: HttpRequest) -> dict[str, Any]:
        return {
            "rebuild": selectors.rebuild_status(),
            "can_rebuild": request.user.has_perm("suggestions.rebuild_index"),
            "refresh_seconds": self.refresh_seconds,
        }

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("suggestions.rebuild_index") or super().has_view_permission(request, obj)


class ProposalInline(admin.TabularInline):
    model = ExampleProposal
    extra = 0
    fields = readonly_fields = ("mention", "agent", "created_at")
    can_delete = False
    verbose_name_plural = "proposed by"

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("kb.view_example")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="mention as written")
    def mention(self, proposal: ExampleProposal) -> str:
        return personal_data_redact(proposal.feedback.request.text)

    @admin.display(description="agent")
    def agent(self, proposal: ExampleProposal) -> str:
        return str(proposal.feedback.given_by or "—")


@admin.register(ProposedExample)
class ProposedExampleAdmin(ExampleAdmin):
    """Mentions agents answered, proposed as example phrasings: pending until an editor activates
    them (the text may be tidied first). The Examples list and its rights, narrowed to the queue."""

    list_display = ["short_text", "issue", "proposal_count", "last_proposed"]
    list_filter = [("issue__brand", admin.RelatedOnlyFieldListFilter)]
    inlines = [ProposalInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Example]:
        return (
            super()
            .get_queryset(request)
            .filter(source=Example.Source.LEARNED, status=Example.Status.PENDING)
            .annotate(proposal_count=Count("proposals"), last_proposed=Max("proposals__created_at"))
            .order_by("-proposal_count", "-last_proposed")
        )

    @admin.display(description="proposals", ordering="proposal_count")
    def proposal_count(self, example: Any) -> int:
        return example.proposal_count

    @admin.display(description="last proposed", ordering="last_proposed")
    def last_proposed(self, example: Any) -> Any:
        return example.last_proposed

    # The queue is the Examples list: the same rights, not the proxy model's own.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("kb.view_example") or self.has_change_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("kb.change_example")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)
