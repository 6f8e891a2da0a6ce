"""Webhook subscriptions over REST, for editors and superusers (agents and integrations: 403):

- POST /api/v1/webhooks/ {"url", "secret", "events", "brands"?} subscribes a receiver (201); the
  secret is never shown back, only ``secret_hint`` (its last 4 characters).
- GET /api/v1/webhooks/ lists the subscriptions the caller may see; GET/DELETE
  /api/v1/webhooks/<id>/ shows or ends one (another brand's, or one ended: 404; an ended one's
  delivery log stays in the admin).
- GET /api/v1/webhooks/<id>/deliveries/ lists its deliveries, latest first (filter ``status``).
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User as Account
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from config.permissions import ActionPermissions
from kb.api import BrandKeyField
from suggestions.api import KnownFieldsOnly, StrictCharField
from webhooks.models import Delivery, Event, Subscription
from webhooks.selectors import subscriptions_visible_to
from webhooks.services import MAX_SECRET, subscription_create, subscription_end


class SubscriptionInputSerializer(KnownFieldsOnly):
    url = StrictCharField(max_length=2000, help_text="An http(s) URL on a public address.")
    secret = StrictCharField(
        max_length=MAX_SECRET,
        write_only=True,
        help_text="Keys the HMAC-SHA256 in each delivery's Careline-Signature header.",
    )
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices), allow_empty=False)
    brands = BrandKeyField(
        many=True,
        required=False,
        help_text="Whose mentions it receives (and mentions of no brand). Default: the brands you "
        "serve, or every brand if you serve no brand in particular.",
    )


class SubscriptionSerializer(serializers.ModelSerializer):
    brands: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="key", many=True, read_only=True, help_text="Empty: every brand."
    )
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices), read_only=True)

    class Meta:
        model = Subscription
        fields = ["id", "url", "events", "brands", "active", "secret_hint", "created_by", "created_at"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="delivery_id", read_only=True, help_text="The body's ``id``.")

    class Meta:
        model = Delivery
        fields = ["id", "event", "mention", *Delivery.OUTCOME_FIELDS]
        read_only_fields = fields


class WebhookViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Outbound webhook subscriptions: receivers told about the inbox's events, signed."""

    serializer_class = SubscriptionSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": ["webhooks.view_subscription"],
        "retrieve": ["webhooks.view_subscription"],
        "create": ["webhooks.add_subscription"],
        "destroy": ["webhooks.view_subscription", "webhooks.change_subscription"],
        "deliveries": ["webhooks.view_subscription", "webhooks.view_delivery"],
    }

    def get_queryset(self) -> QuerySet[Subscription]:
        return subscriptions_visible_to(self.request.user).filter(ended_at__isnull=True)

    @extend_schema(request=SubscriptionInputSerializer, responses={201: SubscriptionSerializer})
    def create(self, request: Request) -> ApiResponse:
        given = SubscriptionInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        subscription = subscription_create(**given.validated_data, created_by=cast(Account, request.user))
        shown = self.get_queryset().get(pk=subscription.pk)
        return ApiResponse(self.get_serializer(shown).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Subscription) -> None:
        subscription_end(subscription=instance, ended_by=cast(Account, self.request.user))

    @extend_schema(
        responses={200: DeliverySerializer(many=True)},
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=Delivery.Status.values)],
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> ApiResponse:
        deliveries = self.get_object().deliveries.order_by("-pk")
        wanted = request.query_params.get("status")
        if wanted is not None:
            if wanted not in Delivery.Status.values:
                raise serializers.ValidationError({"status": f"One of {', '.join(Delivery.Status.values)}."})
            deliveries = deliveries.filter(status=wanted)
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
