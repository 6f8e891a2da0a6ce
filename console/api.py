"""The inbox over REST, for integrations and the console:

- POST /api/v1/mentions/ pushes a mention (idempotent by channel and external id: 201 when new,
  200 with the stored mention when it was pushed before); its suggestions are computed in the
  background. Optional ``conversation_id`` / ``in_reply_to_id`` place it in a thread.
- GET /api/v1/mentions/ lists them oldest first; ``ordering=priority`` lists the open ones most
  urgent first (console.triage), ``ordering=age`` oldest first. Each carries ``priority``
  (minutes past its priority moment, higher is more urgent) and ``priority_reasons``. Filters
  ``brand`` (key), ``channel``, ``status``, ``assigned_to`` (username; ``none`` for the
  unassigned), ``issue`` (key of its top suggestion's issue), ``priority_min``, ``min_age`` /
  ``max_age`` (minutes since received). GET /api/v1/mentions/<id>/.
- POST /api/v1/mentions/<id>/take/, /release/, /assign/ {"agent": username}: who works it. Taking
  or answering a mention another agent has is refused with 409 (naming them) unless
  {"force": true}.
- POST /api/v1/mentions/<id>/answer/ {"text", "response"?, "sent_at"?, "force"?, "split"?}: the
  reply sent; with one of its suggestions' keys (or candidates', when the engine abstained) as
  "response" it is feedback too (accepted or edited). A reply over the channel's limit is refused
  (400 on "text") unless {"split": true} where the channel takes threads (X): it went out as the
  numbered parts ``reply_parts`` shows. "split" on a channel without threads is a 400 on "split".
- POST /api/v1/mentions/<id>/dismiss/ {"reason"}; POST /api/v1/mentions/<id>/nothing-fits/:
  every suggestion rejected, the mention flagged as a content gap and left open.
- POST /api/v1/mentions/<id>/escalate/ {"lead": username, "note", "force"?}: handed to a lead
  serving its brand (assigned to them), with what they should know.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, cast

import django_filters
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User as Account
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from config.permissions import ActionPermissions
from console.models import Mention
from console.selectors import OPEN, ORDERINGS, mentions_narrowed, mentions_ordered, mentions_visible_to
from console.services import (
    MentionHeldByAnother,
    mention_answer,
    mention_assign,
    mention_candidates,
    mention_dismiss,
    mention_drafts,
    mention_escalate,
    mention_nothing_fits,
    mention_receive,
    mention_release,
    mention_take,
    responses_suggested_for,
)
from console.triage import priority_of, priority_reasons, with_severity
from kb.api import BrandKeyField, BrandKeyFilter
from kb.channels import Channel
from kb.models import Issue, Response
from kb.selectors import brands_served_by
from suggestions.api import (
    MAX_TEXT,
    AuthorSerializer,
    DraftSerializer,
    KnownFieldsOnly,
    NoBody,
    PastDateTimeField,
    StrictCharField,
)

# The age filters' bound: ten years, in minutes (beyond it a date would not even exist).
MAX_AGE_MINUTES = 10 * 366 * 24 * 60


class MentionInputSerializer(KnownFieldsOnly):
    """A pushed mention. Someone who serves one brand may leave ``brand`` out (it is theirs);
    mention_receive refuses a brand they do not serve."""

    text = StrictCharField(max_length=MAX_TEXT)
    external_id = StrictCharField(max_length=200)
    brand = BrandKeyField(required=False, allow_null=True)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.TWITTER)
    author = AuthorSerializer(required=False)
    received_at = PastDateTimeField(required=False, help_text="Default: when it is pushed.")
    conversation_id = StrictCharField(
        max_length=200, required=False, allow_blank=True, help_text="The thread it belongs to on its channel."
    )
    in_reply_to_id = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="The message it replies to; a reply to a stored mention joins that thread.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        served = brands_served_by(self.context.get("user"))
        if served is not None and attrs.get("brand") is None:
            if len(served) > 1:
                keys = ", ".join(sorted(brand.key for brand in served))
                raise serializers.ValidationError({"brand": f"Choose one of the brands you serve: {keys}."})
            attrs["brand"] = served[0]
        return attrs


class ForceSerializer(KnownFieldsOnly):
    force = serializers.BooleanField(
        default=False, help_text="Act even though another agent has the mention (you have seen who)."
    )


class AssignSerializer(KnownFieldsOnly):
    agent = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        error_messages={"does_not_exist": "Unknown agent {value!r}."},
    )


class AnswerSerializer(ForceSerializer):
    text = StrictCharField(max_length=MAX_TEXT, help_text="The reply as it was sent.")
    response = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Response.objects.all(),
        required=False,
        allow_null=True,
        help_text="The suggestion it came from (its response key); absent for a reply of the agent's own.",
        error_messages={"does_not_exist": "Unknown response {value!r}."},
    )
    sent_at = PastDateTimeField(required=False, allow_null=True)
    split = serializers.BooleanField(
        default=False,
        help_text="It went out as numbered parts, each within the channel's limit (only where the "
        "channel takes threads: X); a reply within the limit is recorded whole.",
    )


class DismissSerializer(KnownFieldsOnly):
    reason = StrictCharField(max_length=200)


class EscalateSerializer(ForceSerializer):
    lead = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        help_text="A lead serving the mention's brand.",
        error_messages={"does_not_exist": "Unknown lead {value!r}."},
    )
    note = StrictCharField(max_length=1000, help_text="What the lead should know.")


class MentionListSerializer(serializers.ListSerializer):
    """Renders a page of mentions with one query for all their suggested responses."""

    templates: dict[str, Response] | None = None

    def to_representation(self, data: Any) -> list[Any]:
        mentions = list(data.all() if isinstance(data, QuerySet) else data)
        self.templates = responses_suggested_for(mentions)
        return super().to_representation(mentions)


class MentionSerializer(serializers.ModelSerializer):
    brand: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="key", read_only=True)
    author = serializers.SerializerMethodField()
    assigned_to: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    escalated_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    suggestions_failed = serializers.BooleanField(
        read_only=True, help_text="Computing them failed too often to retry; suggest_error says why."
    )
    suggestions_ready = serializers.SerializerMethodField(
        help_text="False until the background task has asked the engine."
    )
    abstained = serializers.SerializerMethodField(help_text="Nothing in the library fits (null until ready).")
    suggestions = serializers.SerializerMethodField(help_text="Ranked best first; empty when abstained.")
    candidates = serializers.SerializerMethodField(
        help_text="When abstained, the ranked drafts, closest first, for an agent to judge "
        "(an integration acting on its own sends only suggestions). Empty otherwise."
    )
    suggestion_request = serializers.IntegerField(source="suggestion_id", read_only=True, allow_null=True)
    personal_data = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="The kinds of personal data its text shows: email, card, iban, passport, booking, phone.",
    )
    reply_parts = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text='The numbered parts the reply went out as ("… (1/3)"), when it was split; empty '
        "when it went out whole.",
    )
    exposes_personal_data = serializers.BooleanField(
        read_only=True,
        help_text="It shows them in public: reply in a private channel, and consider hiding the post.",
    )
    priority = serializers.SerializerMethodField(
        help_text="Minutes past its priority moment (its deadline brought forward by its issue's "
        "severity and its tone, later when it needs no reply): higher is more urgent, negative "
        "while still ahead."
    )
    priority_reasons = serializers.SerializerMethodField(
        help_text='Why it stands there, most telling first: "overdue" or "due soon"; "safety", '
        '"privacy" or "high severity"; "angry" or "urgent"; "no reply needed".'
    )

    class Meta:
        model = Mention
        fields = [
            "id",
            "external_id",
            "conversation_id",
            "in_reply_to_id",
            "text",
            "brand",
            "channel",
            "author",
            "received_at",
            "status",
            "assigned_to",
            "reply_text",
            "reply_parts",
            "dismiss_reason",
            "closed_at",
            "nothing_fits_at",
            "escalated_by",
            "escalated_at",
            "escalation_note",
            "personal_data",
            "exposes_personal_data",
            "priority",
            "priority_reasons",
            "priority_at",
            "due_at",
            "tone",
            "needs_reply",
            "suggestions_ready",
            "suggestions_failed",
            "suggest_error",
            "abstained",
            "suggestion_request",
            "suggestions",
            "candidates",
            "created_at",
        ]
        list_serializer_class = MentionListSerializer

    def get_author(self, mention: Mention) -> dict[str, str]:
        return {"handle": mention.author_handle, "name": mention.author_name}

    def get_priority(self, mention: Mention) -> int:
        return priority_of(mention, self.context.get("now"))

    def get_priority_reasons(self, mention: Mention) -> list[str]:
        return priority_reasons(mention, self.context.get("now"))

    def get_suggestions_ready(self, mention: Mention) -> bool:
        return mention.suggestion_id is not None

    def get_abstained(self, mention: Mention) -> bool | None:
        return mention.suggestion.abstained if mention.suggestion else None

    @extend_schema_field(DraftSerializer(many=True))
    def get_suggestions(self, mention: Mention) -> list[dict[str, Any]]:
        """As the caller would send them (signed with their name and initials)."""
        templates = getattr(self.parent, "templates", None)  # prefetched for a page of mentions
        return mention_drafts(mention=mention, agent=self.context["request"].user, templates=templates)

    @extend_schema_field(DraftSerializer(many=True))
    def get_candidates(self, mention: Mention) -> list[dict[str, Any]]:
        templates = getattr(self.parent, "templates", None)
        return mention_candidates(mention=mention, agent=self.context["request"].user, templates=templates)


@extend_schema_field(OpenApiTypes.STR)
class IssueKeyFilter(django_filters.ModelChoiceFilter):
    """An issue by its key."""


class MentionFilter(django_filters.FilterSet):
    ordering = django_filters.ChoiceFilter(
        choices=[(name, name) for name in ORDERINGS],
        method="ordered",
        label="priority: the open mentions (or those of the status asked for), most urgent first; "
        "age: oldest first (the default)",
    )
    brand = BrandKeyFilter()
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    status = django_filters.ChoiceFilter(choices=Mention.Status.choices)
    assigned_to = django_filters.CharFilter(method="held_by", label="Username; none for the unassigned")
    escalated = django_filters.BooleanFilter(
        field_name="escalated_at", lookup_expr="isnull", exclude=True, label="Escalated to a lead"
    )
    issue = IssueKeyFilter(
        queryset=Issue.objects.all(),
        to_field_name="key",
        method="about_issue",
        label="Key of the issue its top suggestion answers",
        error_messages={"invalid_choice": "Unknown issue %(value)r."},
    )
    priority_min = django_filters.NumberFilter(
        method="at_least_priority",
        min_value=-MAX_AGE_MINUTES,
        max_value=MAX_AGE_MINUTES,
        label="Priority at least this: minutes past its priority moment (0: its moment has come; "
        "-60: it comes within the hour)",
    )
    min_age = django_filters.NumberFilter(
        method="older_than",
        min_value=0,
        max_value=MAX_AGE_MINUTES,
        label="Received at least this many minutes ago (at most ten years)",
    )
    max_age = django_filters.NumberFilter(
        method="newer_than",
        min_value=0,
        max_value=MAX_AGE_MINUTES,
        label="Received at most this many minutes ago (at most ten years)",
    )

    class Meta:
        model = Mention
        fields = ["brand", "channel", "status", "external_id"]

    def ordered(self, mentions: QuerySet[Mention], name: str, ordering: str) -> QuerySet[Mention]:
        if ordering == "priority" and not self.data.get("status"):
            mentions = mentions.filter(status__in=OPEN)
        return mentions_ordered(mentions, ordering)

    def about_issue(self, mentions: QuerySet[Mention], name: str, issue: Issue) -> QuerySet[Mention]:
        return mentions_narrowed(mentions, issue=issue)

    def at_least_priority(self, mentions: QuerySet[Mention], name: str, minutes: float) -> QuerySet[Mention]:
        return mentions_narrowed(mentions, priority_min=minutes)

    def held_by(self, mentions: QuerySet[Mention], name: str, username: str) -> QuerySet[Mention]:
        if username == "none":
            return mentions.filter(assigned_to__isnull=True)
        return mentions.filter(assigned_to__username=username)

    def older_than(self, mentions: QuerySet[Mention], name: str, minutes: float) -> QuerySet[Mention]:
        return mentions.filter(received_at__lte=timezone.now() - timedelta(minutes=float(minutes)))

    def newer_than(self, mentions: QuerySet[Mention], name: str, minutes: float) -> QuerySet[Mention]:
        return mentions.filter(received_at__gte=timezone.now() - timedelta(minutes=float(minutes)))


class MentionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The inbox: integrations push mentions; agents and integrations read them, oldest first."""

    serializer_class = MentionSerializer
    filterset_class = MentionFilter
    # The console's permissions (console.views.agents_only): reading the inbox and working a
    # mention are the agents' and leads'; assigning the leads'; pushing the integrations'.
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": ["console.view_mention"],
        "retrieve": ["console.view_mention"],
        "create": ["console.add_mention"],
        **{
            action: ["console.view_mention", "console.change_mention"]
            for action in ("take", "release", "answer", "dismiss", "nothing_fits", "escalate")
        },
        "assign": ["console.view_mention", "console.change_mention", "console.assign_mention"],
    }

    def get_queryset(self) -> QuerySet[Mention]:
        """Someone who serves particular brands sees those brands' mentions (and brandless ones)."""
        visible = Mention.objects.filter(mentions_visible_to(self.agent))
        return with_severity(visible.select_related("brand", "assigned_to", "escalated_by", "suggestion"))

    def get_serializer_context(self) -> dict[str, Any]:
        # One clock for the whole page: every mention's priority counts to the same moment.
        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(request=MentionInputSerializer, responses={200: MentionSerializer, 201: MentionSerializer})
    def create(self, request: Request) -> ApiResponse:
        given = MentionInputSerializer(data=request.data, context={"user": request.user})
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        author = data.pop("author", {})
        mention, created = mention_receive(
            **data,
            author_handle=author.get("handle", ""),
            author_name=author.get("name", ""),
            received_by=self.agent,
        )
        mention = self.get_queryset().get(pk=mention.pk)  # with its suggestions when computed in-process
        answered = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return ApiResponse(self.get_serializer(mention).data, status=answered)

    # ---- working a mention ------------------------------------------------------------------

    @property
    def agent(self) -> Account:
        return cast(Account, self.request.user)  # never anonymous: the API needs authentication

    def _acted(self, step: Callable[[], Mention]) -> ApiResponse:
        try:
            mention = step()
        except MentionHeldByAnother as held:
            return ApiResponse(held.message_dict, status=status.HTTP_409_CONFLICT)
        except ValidationError as refused:
            raise serializers.ValidationError(refused.message_dict) from None
        return ApiResponse(self.get_serializer(self.get_queryset().get(pk=mention.pk)).data)

    @extend_schema(request=ForceSerializer, responses={200: MentionSerializer})
    @action(detail=True, methods=["post"])
    def take(self, request: Request, pk: str | None = None) -> ApiResponse:
        given = _valid(ForceSerializer, request)
        return self._acted(lambda: mention_take(mention=self.get_object(), agent=self.agent, **given))

    @extend_schema(request=None, responses={200: MentionSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str | None = None) -> ApiResponse:
        _valid(NoBody, request)
        return self._acted(lambda: mention_release(mention=self.get_object(), agent=self.agent))

    @extend_schema(request=AssignSerializer, responses={200: MentionSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> ApiResponse:
        given = _valid(AssignSerializer, request)
        return self._acted(
            lambda: mention_assign(mention=self.get_object(), agent=given["agent"], assigned_by=self.agent)
        )

    @extend_schema(request=AnswerSerializer, responses={200: MentionSerializer})
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk: str | None = None) -> ApiResponse:
        given = _valid(AnswerSerializer, request)
        return self._acted(lambda: mention_answer(mention=self.get_object(), agent=self.agent, **given))

    @extend_schema(request=DismissSerializer, responses={200: MentionSerializer})
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None) -> ApiResponse:
        given = _valid(DismissSerializer, request)
        return self._acted(lambda: mention_dismiss(mention=self.get_object(), agent=self.agent, **given))

    @extend_schema(request=None, responses={200: MentionSerializer})
    @action(detail=True, methods=["post"], url_path="nothing-fits")
    def nothing_fits(self, request: Request, pk: str | None = None) -> ApiResponse:
        _valid(NoBody, request)
        return self._acted(lambda: mention_nothing_fits(mention=self.get_object(), agent=self.agent))

    @extend_schema(request=EscalateSerializer, responses={200: MentionSerializer})
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str | None = None) -> ApiResponse:
        given = _valid(EscalateSerializer, request)
        return self._acted(lambda: mention_escalate(mention=self.get_object(), agent=self.agent, **given))


def _valid(serializer: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    given = serializer(data=request.data)
    given.is_valid(raise_exception=True)
    return dict(given.validated_data)
