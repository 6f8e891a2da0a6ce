"""Response targets over REST: GET/POST/PATCH/DELETE /api/v1/response-targets/, for leads (who
hold the console's response-target permissions). Someone who serves particular brands reads the
targets of those brands and the shared ones, and writes only their brands'. Every refusal names
its field, as in the admin (console.targets)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from config.permissions import ActionPermissions
from console.models import ResponseTarget
from console.sla import TARGET_FIELDS as CLOCK_AND_SCOPE
from console.targets import response_target_validate
from kb.api import BrandKeyField
from kb.channels import Channel
from kb.selectors import may_edit_for, served_rows

SHARED_TARGET = "Only someone who serves every brand changes a target shared by every brand."


class ResponseTargetSerializer(serializers.ModelSerializer):
    brand = BrandKeyField(required=False, allow_null=True, help_text="Brand key; null: every brand.")
    # The unique constraints are checked in validate(), in words naming the field.
    channel = serializers.ChoiceField(choices=Channel.choices, allow_blank=True, default="")

    class Meta:
        model = ResponseTarget
        fields = ["id", *CLOCK_AND_SCOPE, "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators: list[Any] = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = self.context["request"].user
        instance = self.instance or ResponseTarget()
        candidate = ResponseTarget(pk=instance.pk)
        for name in CLOCK_AND_SCOPE:
            setattr(candidate, name, attrs.get(name, getattr(instance, name)))
        if not may_edit_for(user, candidate.brand):
            raise serializers.ValidationError({"brand": "Choose one of the brands you serve."})
        try:
            response_target_validate(candidate)
        except DjangoValidationError as refused:
            raise serializers.ValidationError(refused.message_dict) from refused
        return attrs


class ResponseTargetViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """How soon each brand answers on each channel, and when its team works."""

    serializer_class = ResponseTargetSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": ["console.view_responsetarget"],
        "retrieve": ["console.view_responsetarget"],
        "create": ["console.add_responsetarget"],
        "update": ["console.change_responsetarget"],
        "partial_update": ["console.change_responsetarget"],
        "destroy": ["console.delete_responsetarget"],
    }

    def get_queryset(self) -> QuerySet[ResponseTarget]:
        targets = ResponseTarget.objects.select_related("brand").order_by("brand__key", "channel", "pk")
        return targets.filter(served_rows(self.request.user))

    def get_object(self) -> ResponseTarget:
        target: ResponseTarget = super().get_object()
        if self.action != "retrieve" and not may_edit_for(self.request.user, target.brand):
            raise PermissionDenied(SHARED_TARGET)
        return target
