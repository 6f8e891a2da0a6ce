"""The library over REST: brands, issues (with examples and responses nested), responses and
examples. Reads need the view permission, writes the model permissions; every write goes through
kb.services, so the API obeys the same lifecycle as the admin."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db.models import QuerySet
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from kb import services
from kb.channels import Channel
from kb.models import Brand, Example, Issue, Response
from kb.rendering import SAMPLE_CONTEXT, render_reply
from kb.selectors import brands_served_by, served_rows


class LibraryPermissions(permissions.DjangoModelPermissions):
    """Model permissions, with reading guarded by the view permission too."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        # Deleting retires; it takes the change permission, never a hard delete.
        "DELETE": ["%(app_label)s.change_%(model_name)s"],
    }


# ---- serializers ------------------------------------------------------------------------------


class BrandKeyField(serializers.SlugRelatedField):
    """A brand named by its key, with a message that names an unknown one."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Brand.objects.all())
        kwargs.setdefault("error_messages", {"does_not_exist": "Unknown brand {value!r}."})
        super().__init__(slug_field="key", **kwargs)


class BrandScoped(serializers.Serializer):
    """A request whose ``brand`` must be one the person asking serves (serializer context
    ``user``; ``Brand.members``). Someone serving several brands names one; someone serving one
    gets it; someone serving no brand in particular may name any, or none."""

    brand = BrandKeyField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        served = brands_served_by(self.context.get("user"))
        if served is None:
            return attrs
        brand = attrs.get("brand")
        if brand is None and len(served) == 1:
            attrs["brand"] = served[0]
        elif brand not in served:
            keys = ", ".join(sorted(item.key for item in served))
            raise serializers.ValidationError({"brand": f"Choose one of the brands you serve: {keys}."})
        return attrs


class BrandSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ["id", "key", "name", "handle", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class ExampleSerializer(serializers.ModelSerializer):
    issue = serializers.SlugRelatedField(slug_field="key", queryset=Issue.objects.all())

    class Meta:
        model = Example
        fields = ["id", "issue", "text", "source", "status", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class ResponseSerializer(serializers.ModelSerializer):
    issue = serializers.SlugRelatedField(slug_field="key", queryset=Issue.objects.all())
    status = serializers.ChoiceField(choices=Response.Status.choices, required=False)
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    approved_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    sample = serializers.SerializerMethodField(help_text="The reply rendered for a sample customer.")

    class Meta:
        model = Response
        fields = [
            "id",
            "key",
            "issue",
            "channel",
            "text",
            "language",
            "valid_from",
            "valid_until",
            "status",
            "sample",
            "created_by",
            "approved_by",
            "approved_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "approved_at", "created_at", "updated_at"]

    def get_sample(self, response: Response) -> dict[str, Any]:
        reply = render_reply(response.text, SAMPLE_CONTEXT, response.channel)
        return {
            "text": reply.text,
            "length": reply.length,
            "limit": reply.limit,
            "fits_channel": reply.fits_channel,
        }


class NestedResponseSerializer(ResponseSerializer):
    class Meta(ResponseSerializer.Meta):
        fields = [name for name in ResponseSerializer.Meta.fields if name != "issue"]


class TagsField(serializers.ListField):
    """Tag names in, sorted tag names out (the model side is a many-to-many manager)."""

    child = serializers.SlugField(max_length=64)

    def to_representation(self, tags: Any) -> list[str]:
        return sorted(tag.name for tag in tags.all())


class IssueSerializer(serializers.ModelSerializer):
    brand = serializers.SlugRelatedField(
        slug_field="key", queryset=Brand.objects.all(), allow_null=True, required=False
    )
    tags = TagsField(required=False)
    active = serializers.BooleanField(source="is_active", required=False)
    examples = ExampleSerializer(many=True, read_only=True)
    responses = NestedResponseSerializer(many=True, read_only=True)

    class Meta:
        model = Issue
        fields = [
            "id",
            "key",
            "brand",
            "title",
            "description",
            "tags",
            "private_channel",
            "active",
            "examples",
            "responses",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def to_representation(self, issue: Issue) -> dict[str, Any]:
        data = super().to_representation(issue)
        data["examples"] = [item for item in data["examples"] if item["status"] != Example.Status.RETIRED]
        return data


# ---- filters ----------------------------------------------------------------------------------


class BrandFilter(django_filters.FilterSet):
    class Meta:
        model = Brand
        fields = ["key"]


class IssueFilter(django_filters.FilterSet):
    brand = django_filters.CharFilter(field_name="brand__key")
    tag = django_filters.CharFilter(field_name="tags__name")
    active = django_filters.BooleanFilter(field_name="is_active")

    class Meta:
        model = Issue
        fields = ["key", "brand", "tag", "active", "private_channel"]


class ResponseFilter(django_filters.FilterSet):
    issue = django_filters.CharFilter(field_name="issue__key")
    brand = django_filters.CharFilter(field_name="issue__brand__key")
    status = django_filters.ChoiceFilter(choices=Response.Status.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)

    class Meta:
        model = Response
        fields = ["key", "issue", "brand", "status", "channel", "language"]


class ExampleFilter(django_filters.FilterSet):
    issue = django_filters.CharFilter(field_name="issue__key")

    class Meta:
        model = Example
        fields = ["issue", "status", "source"]


# ---- views ------------------------------------------------------------------------------------


class LibraryViewSet(viewsets.ModelViewSet):
    """Someone who serves particular brands reads their brands' rows and the shared ones
    (``brand_path`` leads from a row to its brand); the services refuse their other writes."""

    permission_classes = [LibraryPermissions]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    brand_path = "brand"

    def served(self, rows: QuerySet[Any]) -> QuerySet[Any]:
        return rows.filter(served_rows(self.request.user, self.brand_path))

    def perform_destroy(self, instance: Any) -> None:
        self.retire(instance)

    def retire(self, instance: Any) -> None:
        raise NotImplementedError


class BrandViewSet(LibraryViewSet):
    serializer_class = BrandSerializer
    filterset_class = BrandFilter
    brand_path = "pk"

    def get_queryset(self) -> QuerySet[Brand]:
        return self.served(Brand.objects.all())

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.brand_create(created_by=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        services.brand_update(
            brand=cast(Any, serializer.instance), updated_by=self.request.user, **serializer.validated_data
        )

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        brand = self.get_object()
        if brand.issues.exists():
            return ApiResponse(
                {"detail": f"Brand {brand.key!r} still has issues; retire or move them first."},
                status=status.HTTP_409_CONFLICT,
            )
        brand.delete()  # no issues: nothing else refers to it, and its history stays
        return ApiResponse(status=status.HTTP_204_NO_CONTENT)


class IssueViewSet(LibraryViewSet):
    serializer_class = IssueSerializer
    filterset_class = IssueFilter

    def get_queryset(self) -> QuerySet[Issue]:
        return self.served(
            Issue.objects.select_related("brand")
            .prefetch_related("tags", "examples__issue", "responses__created_by", "responses__approved_by")
            .distinct()
        )

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        active = data.pop("is_active", True)
        issue = services.issue_create(created_by=self.request.user, **data)
        if not active:
            services.issue_retire(issue=issue, retired_by=self.request.user)
        serializer.instance = issue

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        services.issue_update(
            issue=cast(Any, serializer.instance), updated_by=self.request.user, **serializer.validated_data
        )

    def retire(self, instance: Issue) -> None:
        services.issue_retire(issue=instance, retired_by=self.request.user)


class ResponseViewSet(LibraryViewSet):
    serializer_class = ResponseSerializer
    filterset_class = ResponseFilter
    brand_path = "issue__brand"

    def get_queryset(self) -> QuerySet[Response]:
        return self.served(Response.objects.select_related("issue__brand", "created_by", "approved_by"))

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.response_create(
            created_by=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        services.response_update(
            response=cast(Any, serializer.instance), updated_by=self.request.user, **serializer.validated_data
        )

    def retire(self, instance: Response) -> None:
        if instance.status != Response.Status.RETIRED:
            services.response_retire(response=instance, retired_by=self.request.user)


class ExampleViewSet(LibraryViewSet):
    serializer_class = ExampleSerializer
    filterset_class = ExampleFilter
    brand_path = "issue__brand"

    def get_queryset(self) -> QuerySet[Example]:
        return self.served(Example.objects.select_related("issue__brand"))

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.example_create(
            created_by=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        services.example_update(
            example=cast(Any, serializer.instance), updated_by=self.request.user, **serializer.validated_data
        )

    def retire(self, instance: Example) -> None:
        services.example_retire(example=instance, retired_by=self.request.user)
