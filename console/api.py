"""The inbox over REST, for integrations and the console:

- POST /api/v1/mentions/ pushes a mention (idempotent by channel and external id: 201 when new,
  200 with the stored mention when it was pushed before); its suggestions are computed in the
  background.
- GET /api/v1/mentions/ lists them oldest first; filters ``brand`` (key), ``channel``,
  ``status``, ``min_age`` / ``max_age`` (minutes since received). GET /api/v1/mentions/<id>/.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from console.models import Mention
from console.services import mention_receive
from kb.channels import Channel
from kb.models import Brand
from suggestions.api import MAX_TEXT, AuthorSerializer, StrictCharField


class MentionInputSerializer(serializers.Serializer):
    text = StrictCharField(max_length=MAX_TEXT)
    external_id = StrictCharField(max_length=200)
    brand = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Brand.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": "Unknown brand {value!r}."},
    )
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.TWITTER)
    author = AuthorSerializer(required=False)
    received_at = serializers.DateTimeField(required=False, help_text="Default: when it is pushed.")


class MentionSerializer(serializers.ModelSerializer):
    brand: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="key", read_only=True)
    author = serializers.SerializerMethodField()
    assigned_to: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    suggestions_ready = serializers.SerializerMethodField(
        help_text="False until the background task has asked the engine."
    )
    abstained = serializers.SerializerMethodField(help_text="Nothing in the library fits (null until ready).")
    suggestions = serializers.SerializerMethodField(help_text="Ranked best first; empty when abstained.")
    suggestion_request = serializers.IntegerField(source="suggestion_id", read_only=True, allow_null=True)

    class Meta:
        model = Mention
        fields = [
            "id",
            "external_id",
            "text",
            "brand",
            "channel",
            "author",
            "received_at",
            "status",
            "assigned_to",
            "suggestions_ready",
            "abstained",
            "suggestion_request",
            "suggestions",
            "created_at",
        ]

    def get_author(self, mention: Mention) -> dict[str, str]:
        return {"handle": mention.author_handle, "name": mention.author_name}

    def get_suggestions_ready(self, mention: Mention) -> bool:
        return mention.suggestion_id is not None

    def get_abstained(self, mention: Mention) -> bool | None:
        return mention.suggestion.abstained if mention.suggestion else None

    def get_suggestions(self, mention: Mention) -> list[dict[str, Any]]:
        return mention.suggestion.shown if mention.suggestion else []


class MentionFilter(django_filters.FilterSet):
    brand = django_filters.CharFilter(field_name="brand__key")
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    status = django_filters.ChoiceFilter(choices=Mention.Status.choices)
    min_age = django_filters.NumberFilter(
        method="older_than", min_value=0, label="Received at least this many minutes ago"
    )
    max_age = django_filters.NumberFilter(
        method="newer_than", min_value=0, label="Received at most this many minutes ago"
    )

    class Meta:
        model = Mention
        fields = ["brand", "channel", "status", "external_id"]

    def older_than(self, mentions: QuerySet[Mention], name: str, minutes: float) -> QuerySet[Mention]:
        return mentions.filter(received_at__lte=timezone.now() - timedelta(minutes=float(minutes)))

    def newer_than(self, mentions: QuerySet[Mention], name: str, minutes: float) -> QuerySet[Mention]:
        return mentions.filter(received_at__gte=timezone.now() - timedelta(minutes=float(minutes)))


class MentionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The inbox: integrations push mentions; agents and integrations read them, oldest first."""

    serializer_class = MentionSerializer
    filterset_class = MentionFilter
    queryset = Mention.objects.select_related("brand", "assigned_to", "suggestion")

    @extend_schema(request=MentionInputSerializer, responses={200: MentionSerializer, 201: MentionSerializer})
    def create(self, request: Request) -> ApiResponse:
        given = MentionInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        author = data.pop("author", {})
        mention, created = mention_receive(
            **data, author_handle=author.get("handle", ""), author_name=author.get("name", "")
        )
        mention = self.get_queryset().get(pk=mention.pk)  # with its suggestions when computed in-process
        return ApiResponse(
            MentionSerializer(mention).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
