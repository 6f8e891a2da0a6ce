"""Suggestions, feedback and the index over REST."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from config.celery_app import ran_in_process
from config.permissions import ActionPermissions
from kb.api import BrandKeyField, BrandScoped
from kb.channels import Channel
from kb.models import Response
from kb.selectors import served_rows
from suggestions import selectors
from suggestions.index_store import IndexUnavailable
from suggestions.models import Feedback, SuggestionRequest
from suggestions.request_log import wait_written
from suggestions.services import Mention, feedback_give, suggestion_create
from suggestions.serving import served_status
from suggestions.tasks import index_rebuild_queue

logger = logging.getLogger(__name__)

MAX_TEXT = 5000


class AuthorSerializer(serializers.Serializer):
    handle = serializers.CharField(max_length=100, required=False, allow_blank=True)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)


class AgentSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    initials = serializers.CharField(max_length=8, required=False, allow_blank=True)


class StrictCharField(serializers.CharField):
    """A CharField that takes only strings: DRF's would turn a JSON number into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class KnownFieldsOnly(serializers.Serializer):
    """A request body that names only fields the serializer knows: a misspelt one ("brnad") is
    refused, naming it, rather than ignored and answered as if it had not been sent."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, Mapping) else []
        errors = {name: ["Unknown field."] for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as refused:
            if errors and isinstance(refused.detail, dict):
                raise serializers.ValidationError({**refused.detail, **errors}) from None
            raise
        if errors:
            raise serializers.ValidationError(errors)
        return value


class NoBody(KnownFieldsOnly):
    """For actions that take nothing: any field sent is a mistake worth hearing about."""


class PastDateTimeField(serializers.DateTimeField):
    """A moment that has already happened: no later than now, give or take
    CARELINE_CLOCK_SKEW_SECONDS for a sender whose clock runs a little ahead."""

    def to_internal_value(self, value: Any) -> datetime:
        moment = super().to_internal_value(value)
        skew = timedelta(seconds=settings.CARELINE_CLOCK_SKEW_SECONDS)
        if moment > timezone.now() + skew:
            raise serializers.ValidationError("This is in the future; send the time it happened.")
        return moment


class SuggestionInputSerializer(KnownFieldsOnly, BrandScoped):
    text = StrictCharField(max_length=MAX_TEXT)
    brand = BrandKeyField(required=False, allow_null=True)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    author = AuthorSerializer(required=False)
    agent = AgentSerializer(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=settings.CARELINE_MAX_SUGGESTIONS, default=3)
    external_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    received_at = PastDateTimeField(
        required=False, allow_null=True, help_text="When the mention reached the brand (ISO 8601)."
    )

    def mention(self, user: Any) -> Mention:
        data = self.validated_data
        author = data.get("author", {})
        agent = data.get("agent", {})
        agent_name = agent.get("name") or (user.get_full_name() if user.is_authenticated else "")
        return Mention(
            text=data["text"],
            brand=data.get("brand"),
            channel=data.get("channel", ""),
            author_handle=author.get("handle", ""),
            author_name=author.get("name", ""),
            agent_name=agent_name,
            agent_initials=agent.get("initials", ""),
            external_id=data.get("external_id", ""),
            received_at=data.get("received_at"),
        )


class IssueRefSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()


class DraftSerializer(serializers.Serializer):
    """One draft reply, as suggestions and candidates carry it (for the schema: drafts are passed
    through as the engine stored or rendered them)."""

    response = serializers.CharField(help_text="The response's key: send it back with feedback.")
    issue = IssueRefSerializer()
    text = serializers.CharField(help_text="Rendered for the customer and the agent.")
    score = serializers.FloatField()
    confidence = serializers.FloatField()
    matched_example = serializers.CharField()
    private_channel = serializers.BooleanField(help_text="The reply moves the conversation to DM.")
    length = serializers.IntegerField(help_text="Counted as the channel counts it.")
    limit = serializers.IntegerField(allow_null=True, help_text="The channel's limit; null when it has none.")
    fits_channel = serializers.BooleanField()


@extend_schema_field(DraftSerializer(many=True))
class DraftsField(serializers.JSONField):
    """A list of drafts, best first, passed through as stored."""


class SuggestionOutputSerializer(serializers.ModelSerializer):
    brand: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="key", read_only=True)
    suggestions = DraftsField(
        source="shown", read_only=True, help_text="Ranked best first; empty when abstained."
    )
    candidates = DraftsField(
        read_only=True,
        help_text="When abstained, the ranked drafts, closest first, for an agent to judge "
        "(an integration acting on its own sends only suggestions). Empty otherwise.",
    )

    class Meta:
        model = SuggestionRequest
        fields = [
            "id",
            "abstained",
            "index_version",
            "took_ms",
            "suggestions",
            "candidates",
            "text",
            "brand",
            "channel",
            "external_id",
            "received_at",
            "answered_at",
            "created_at",
        ]


class FeedbackInputSerializer(KnownFieldsOnly):
    response = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Response.objects.all(),
        error_messages={"does_not_exist": "Unknown response {value!r}."},
    )
    action = serializers.ChoiceField(choices=Feedback.Action.choices)
    final_text = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")
    sent_at = PastDateTimeField(
        required=False, allow_null=True, help_text="When the reply went out (ISO 8601); default: now."
    )


class FeedbackOutputSerializer(serializers.ModelSerializer):
    response: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="key", read_only=True
    )
    given_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Feedback
        fields = ["id", "request", "response", "action", "final_text", "given_by", "created_at", "updated_at"]


class SuggestionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Ask for reply suggestions for a mention; read past requests; give feedback on one."""

    serializer_class = SuggestionOutputSerializer
    permission_classes = [ActionPermissions]
    throttle_scope = "suggestions"  # an integration's own rate, apart from the rest of the API
    # Asking is its own permission (agents, authors, editors and integrations have it); reading
    # back goes with it. Feedback says what was sent to a customer: not for authors.
    action_permissions = {
        "create": ["suggestions.add_suggestionrequest"],
        "list": ["suggestions.add_suggestionrequest"],
        "retrieve": ["suggestions.add_suggestionrequest"],
        "feedback": ["suggestions.add_feedback"],
    }

    def get_queryset(self) -> Any:
        """Agents see the requests they made; editors and leads see everyone's, or, when they serve
        particular brands, those brands' (and requests that named no brand)."""
        requests = SuggestionRequest.objects.select_related("brand")
        if self.request.user.has_perm("suggestions.view_suggestionrequest"):
            return requests.filter(served_rows(self.request.user, "brand"))
        return requests.filter(requested_by=self.request.user.pk)

    def get_object(self) -> SuggestionRequest:
        """The request named in the URL, once written: an answer's rows are written just after
        it was sent (suggestions.request_log), so feedback sent at once may arrive first."""
        try:
            return super().get_object()
        except Http404:
            pk = str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))
            if not (pk.isascii() and pk.isdigit()) or not wait_written(int(pk)):
                raise
            return super().get_object()

    @extend_schema(request=SuggestionInputSerializer, responses={200: SuggestionOutputSerializer})
    def create(self, request: Request) -> ApiResponse:
        given = SuggestionInputSerializer(data=request.data, context={"user": request.user})
        given.is_valid(raise_exception=True)
        try:
            answer = suggestion_create(
                mention=given.mention(request.user),
                limit=given.validated_data["limit"],
                requested_by=request.user,
                deferred=True,
            )
        except IndexUnavailable as exc:
            return ApiResponse(
                {"detail": f"Suggestions are unavailable: {exc}"}, status=status.HTTP_503_SERVICE_UNAVAILABLE
            )
        return ApiResponse(SuggestionOutputSerializer(answer).data)

    @extend_schema(request=FeedbackInputSerializer, responses={200: FeedbackOutputSerializer})
    @action(detail=True, methods=["post"])
    def feedback(self, request: Request, pk: str | None = None) -> ApiResponse:
        suggestion = self.get_object()  # DRF's lookup: a pk that is not a number is a 404, not a 500
        given = FeedbackInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        feedback = feedback_give(request=suggestion, given_by=request.user, **given.validated_data)
        return ApiResponse(FeedbackOutputSerializer(feedback).data)


class IndexApi(APIView):
    """The served index: version, size and whether it holds the library as it is now."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> ApiResponse:
        # "serving": what this process answers from, which differs from the active version
        # while that one cannot be read.
        return ApiResponse(
            {**selectors.index_status(), "serving": served_status(), "rebuild": selectors.rebuild_status()}
        )


class CanRebuildIndex(permissions.BasePermission):
    message = "Only library editors may rebuild the index."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.has_perm("suggestions.rebuild_index"))


class IndexRebuildApi(APIView):
    permission_classes = [permissions.IsAuthenticated, CanRebuildIndex]

    @extend_schema(request=None, responses={202: dict})
    def post(self, request: Request) -> ApiResponse:
        rebuild, result = index_rebuild_queue(requested_by=request.user)
        if result is None:
            return ApiResponse({"status": "queued", "request": rebuild.pk}, status=status.HTTP_202_ACCEPTED)
        return ApiResponse(
            {
                "status": "done" if ran_in_process(result) else "queued",
                "task_id": result.id,
                "request": rebuild.pk,
            },
            status=status.HTTP_202_ACCEPTED,
        )


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database answers and an index is loaded (the active version, or while that
    one cannot be read, a complete older one: "degraded", with the reason)."""
    checks: dict[str, Any] = {}
    try:
        connection.ensure_connection()
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means not ready
        checks["database"] = f"unreachable: {exc}"
    else:
        checks["index"] = served_status()
    # Degraded still answers: from a complete older version, while the active one is repaired.
    ready = checks["database"] == "ok" and checks.get("index", {}).get("status") in ("ok", "degraded")
    return JsonResponse({"ready": ready, **checks}, status=200 if ready else 503)
