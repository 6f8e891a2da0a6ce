from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse, reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from kb import services
from kb.admin.base import (
    LibraryAdmin,
    LibraryInline,
    ServedBrandsLibrary,
    ServiceModelForm,
    ServiceWrites,
    apply_each,
    error_lines,
    form_problems,
    length_label,
    rendered_sample,
    report_outcome,
)
from kb.channels import Channel
from kb.models import Response
from kb.rendering import SAMPLE_CONTEXT, render_reply
from kb.selectors import SEARCHED_FIELDS, responses_live

Status = Response.Status
HTMX = "console/vendor/htmx-2.0.11.min.js"  # the console's copy: served locally, never from a CDN


class ResponseWrites(ServiceWrites):
    # Content only: the status moves through the lifecycle (actions and buttons), never a form.
    service_fields = services.RESPONSE_CONTENT_FIELDS

    def service_create(self, request: HttpRequest, values: dict[str, Any]) -> Response:
        return services.response_create(created_by=request.user, **values)

    def service_update(self, request: HttpRequest, obj: Response, values: dict[str, Any]) -> Response:
        return services.response_update(response=obj, updated_by=request.user, **values)

    @admin.display(description="length")
    def length(self, response: Response) -> str:
        return length_label(response)

    @admin.display(description="fits", boolean=True)
    def fits(self, response: Response) -> bool | None:
        rendered = rendered_sample(response)
        return None if rendered is None else rendered.fits_channel


class ResponseForm(ServiceModelForm):
    class Meta:
        widgets = {"text": forms.Textarea(attrs={"rows": 4, "cols": 90})}


def _asks_for_the_preview(include: str) -> dict[str, Any]:
    """htmx attributes: post this field and ``include`` to the preview as the editor types."""
    return {
        "hx-post": reverse_lazy("admin:kb_response_preview"),
        "hx-trigger": "input changed delay:300ms, change",
        "hx-target": "#kb-preview",
        "hx-swap": "outerHTML",
        "hx-include": f"[name=csrfmiddlewaretoken], {include}",
    }


class ResponseAdminForm(ResponseForm):
    """The response's own page: its preview follows the text and the channel as they change."""

    class Meta:
        widgets = {
            "text": forms.Textarea(attrs={"rows": 4, "cols": 90, **_asks_for_the_preview("[name=channel]")}),
            "channel": forms.Select(attrs=_asks_for_the_preview("[name=text]")),
        }


class PreviewForm(forms.Form):
    text = forms.CharField(max_length=5000, required=False, strip=False)
    channel = forms.ChoiceField(choices=Channel.choices)


class ResponseInline(ResponseWrites, LibraryInline, admin.StackedInline):
    model = Response
    form = ResponseForm
    fields = [
        ("key", "channel", "language"),
        "text",
        ("valid_from", "valid_until"),
        ("status", "length", "fits"),
    ]
    readonly_fields = ["status", "length", "fits"]
    extra = 0


class LiveNowFilter(admin.SimpleListFilter):
    title = "live now"
    parameter_name = "live"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Live (may be suggested now)"), ("no", "Not live")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Response]) -> QuerySet[Response]:
        live = Exists(responses_live().filter(pk=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(live)
        if self.value() == "no":
            return queryset.exclude(live)
        return queryset


def transitions_from(response: Response, user: Any) -> list[tuple[str, str]]:
    """(to_status, name of the step) for each lifecycle step open to this user from here."""
    return [
        (to_status, step)
        for (from_status, to_status), step in services.TRANSITIONS.items()
        if from_status == response.status and (to_status != Status.APPROVED or services.can_approve(user))
    ]


@admin.register(Response)
class ResponseAdmin(ServedBrandsLibrary, ResponseWrites, LibraryAdmin):
    brand_path = "issue__brand"
    form = ResponseAdminForm
    list_display = [
        "key",
        "issue",
        "brand",
        "channel",
        "status",
        "language",
        "length",
        "fits",
        "valid_window",
        "approved_by",
    ]
    list_filter = [
        "status",
        "channel",
        LiveNowFilter,
        ("issue__brand", admin.RelatedOnlyFieldListFilter),
        "issue__tags",
        ("language", admin.AllValuesFieldListFilter),
    ]
    list_select_related = ["issue__brand", "approved_by"]
    search_fields = SEARCHED_FIELDS["response"]
    date_hierarchy = "updated_at"
    ordering = ["issue__key", "key"]
    autocomplete_fields = ["issue"]
    readonly_fields = [
        "preview",
        "status",
        "approved_by",
        "approved_at",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["issue", "key", ("channel", "language"), "text", "preview"]}),
        ("Validity", {"fields": [("valid_from", "valid_until")]}),
        (
            "Lifecycle",
            {
                "fields": [
                    ("status", "approved_by", "approved_at"),
                    ("created_by", "created_at", "updated_at"),
                ]
            },
        ),
    ]
    actions = [
        "submit_selected",
        "approve_selected",
        "send_back_selected",
        "retire_selected",
        "reopen_selected",
    ]
    history_list_display = ["status"]

    class Media:
        js = [HTMX]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return self.fieldsets[:2]
        return self.fieldsets

    # ---- columns ---------------------------------------------------------------------------------

    @admin.display(description="brand", ordering="issue__brand__key")
    def brand(self, response: Response) -> str:
        return response.issue.brand.name if response.issue.brand else "All brands"

    @admin.display(description="valid")
    def valid_window(self, response: Response) -> str:
        if response.valid_from is None and response.valid_until is None:
            return "always"
        start = f"{timezone.localtime(response.valid_from):%Y-%m-%d}" if response.valid_from else "…"
        end = f"{timezone.localtime(response.valid_until):%Y-%m-%d}" if response.valid_until else "…"
        return f"{start} → {end}"

    @admin.display(description="preview")
    def preview(self, response: Response) -> str:
        return preview_html(response.text, response.channel)

    @method_decorator(require_POST)
    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """The preview of the text and channel as typed, for the form to swap in (htmx)."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        given = PreviewForm(request.POST)
        if not given.is_valid():
            return HttpResponse(form_problems(given), status=400, content_type="text/plain")
        return HttpResponse(preview_html(given.cleaned_data["text"], given.cleaned_data["channel"]))

    # ---- lifecycle: bulk actions -------------------------------------------------------------------

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return services.can_approve(request.user)

    def _move(
        self,
        request: HttpRequest,
        queryset: QuerySet[Response],
        to_status: str,
        done: str,
        from_statuses: tuple[str, ...] = (),
    ) -> None:
        responses = list(queryset)
        already = [r for r in responses if r.status == to_status]
        wrong = [
            r for r in responses if r.status != to_status and from_statuses and r.status not in from_statuses
        ]
        movable = [r for r in responses if r not in already and r not in wrong]
        succeeded, failed = apply_each(
            movable,
            lambda response: services.response_transition(
                response=response, to_status=to_status, user=request.user
            ),
        )
        failed += [
            f"{r.key}: it is {r.get_status_display().lower()}, this step is for "
            + " or ".join(Status(s).label.lower() for s in from_statuses)
            + " responses."
            for r in wrong
        ]
        report_outcome(request, self, done=done, succeeded=succeeded, failed=failed)
        if already:
            self.message_user(
                request,
                f"Already {Status(to_status).label.lower()}: " + ", ".join(r.key for r in already),
                messages.INFO,
            )

    @admin.action(description="Submit for review", permissions=["change"])
    def submit_selected(self, request: HttpRequest, queryset: QuerySet[Response]) -> None:
        self._move(request, queryset, Status.IN_REVIEW, "submitted for review")

    @admin.action(description="Approve", permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Response]) -> None:
        self._move(request, queryset, Status.APPROVED, "approved")

    @admin.action(description="Send back to draft", permissions=["change"])
    def send_back_selected(self, request: HttpRequest, queryset: QuerySet[Response]) -> None:
        self._move(request, queryset, Status.DRAFT, "sent back to draft", (Status.IN_REVIEW, Status.APPROVED))

    @admin.action(description="Retire", permissions=["change"])
    def retire_selected(self, request: HttpRequest, queryset: QuerySet[Response]) -> None:
        self._move(request, queryset, Status.RETIRED, "retired")

    @admin.action(description="Reopen as draft", permissions=["change"])
    def reopen_selected(self, request: HttpRequest, queryset: QuerySet[Response]) -> None:
        self._move(request, queryset, Status.DRAFT, "reopened as draft", (Status.RETIRED,))

    # ---- lifecycle: buttons on the change page ---------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        transition = path(
            "<path:object_id>/transition/<slug:to_status>/",
            self.admin_site.admin_view(self.transition_view),
            name="kb_response_transition",
        )
        preview = path("preview/", self.admin_site.admin_view(self.preview_view), name="kb_response_preview")
        return [transition, preview, *super().get_urls()]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = self.get_object(request, unquote(object_id))
        steps = []
        if response is not None and self.has_change_permission(request, response):
            steps = [
                {
                    "to": to_status,
                    "label": step,
                    "url": reverse("admin:kb_response_transition", args=[response.pk, to_status]),
                }
                for to_status, step in transitions_from(response, request.user)
            ]
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "kb_transitions": steps}
        )

    @method_decorator(require_POST)
    def transition_view(self, request: HttpRequest, object_id: str, to_status: str) -> HttpResponse:
        response = self.get_object(request, unquote(object_id))
        if response is None or to_status not in Status.values:
            raise Http404
        if not self.has_change_permission(request, response):
            raise PermissionDenied
        version = request.POST.get("version", "")
        try:
            with transaction.atomic():
                services.response_transition(
                    response=response,
                    to_status=to_status,
                    user=request.user,
                    expected_version=int(version) if version.isdigit() else None,
                )
        except (ValidationError, PermissionDenied) as exc:
            self.message_user(request, " ".join(error_lines(exc)), messages.ERROR)
        else:
            self.message_user(
                request, f"“{response.key}” is now {response.get_status_display().lower()}.", messages.SUCCESS
            )
        return HttpResponseRedirect(reverse("admin:kb_response_change", args=[response.pk]))


def preview_html(text: str, channel: str) -> str:
    """The reply ``text`` renders to for the sample conversation, with its length on ``channel``;
    or why it does not render. One element (#kb-preview) the form swaps as the editor types."""
    if not text.strip():
        return format_html(
            '<div id="kb-preview" aria-live="polite">{}</div>', "Type a reply to see it rendered."
        )
    try:
        rendered = render_reply(text, SAMPLE_CONTEXT, channel)
    except ValidationError as refusal:
        return format_html(
            '<div id="kb-preview" aria-live="polite">'
            '<p class="kb-preview-meta kb-too-long">Does not render: {}</p></div>',
            " ".join(refusal.messages),
        )
    limit = f" of {rendered.limit} allowed" if rendered.limit else " (no limit)"
    return format_html(
        '<div id="kb-preview" class="kb-preview" aria-live="polite"><div class="kb-preview-text">{}</div>'
        '<p class="kb-preview-meta {}">{} characters{} on {} — {}</p>'
        '<p class="help">Rendered for a sample conversation: {} ({}), agent {}, brand {}.</p></div>',
        rendered.text,
        "kb-fits" if rendered.fits_channel else "kb-too-long",
        rendered.length,
        limit,
        Channel(channel).label,
        "fits" if rendered.fits_channel else "too long",
        SAMPLE_CONTEXT.customer_name,
        SAMPLE_CONTEXT.handle,
        SAMPLE_CONTEXT.agent_name,
        SAMPLE_CONTEXT.brand_name,
    )
