"""The library over REST: brands, issues (with examples and responses nested), responses and
examples. Reads need the view permission, writes the model permissions; every write goes through
kb.services, so the API obeys the same lifecycle as the admin.

No edit is lost: every object carries its ``version`` and, read or written alone, an ``ETag``
(``"<id>-<version>"``). A write with ``If-Match: <that ETag>`` is refused with 412 when someone
saved the object since; ``version`` in the body does the same with 409. Either way the answer
names who changed it, when, and the version now stored. Writes without either go through, each
applied to the row as stored (under a row lock), so no field another writer set is lost."""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, filters, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import set_rollback

from kb import services
from kb.channels import Channel
from kb.models import Brand, Department, Example, Issue, Response
from kb.rendering import SAMPLE_CONTEXT, render_reply
from kb.selectors import SEARCHED_FIELDS, brands_served_by, served_rows
from kb.templating import TemplateRenderError


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


# ---- versions -----------------------------------------------------------------------------------

ENTITY_TAG = re.compile(r'(?:W/)?"(?P<id>\d+)-(?P<version>\d+)"')


def entity_tag(row: Any) -> str:
    return f'"{row.pk}-{row.version}"'


def if_match_version(header: str, row: Any) -> int | None:
    """The version an If-Match header names: None for ``*`` (any version), 0 (never stored) for
    another object's tag. A weak tag (``W/``) is taken as the same version."""
    value = header.strip()
    if value == "*":
        return None
    match = ENTITY_TAG.fullmatch(value)
    if match is None:
        raise exceptions.ParseError(
            "If-Match must be one entity tag as the ETag header gives it "
            f'(such as "{row.pk}-{row.version}"), or *; got {header[:100]!r}.'
        )
    return int(match["version"]) if int(match["id"]) == row.pk else 0


def stale_body(stale: services.StaleVersion) -> dict[str, Any]:
    return {
        "detail": " ".join(stale.messages),
        "version": stale.current,
        "changed_by": stale.changed_by_username,
        "changed_at": stale.changed_at,
        "changed_fields": [change.field for change in stale.changes],
    }


def version_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="Goes up by one on every change. Send the one you read to refuse a write over "
        "someone else's change (409), or send If-Match with the ETag (412).",
    )


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
    version = version_field()

    class Meta:
        model = Brand
        fields = ["id", "key", "name", "handle", "version", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class ExampleSerializer(serializers.ModelSerializer):
    issue = serializers.SlugRelatedField(slug_field="key", queryset=Issue.objects.all())
    version = version_field()

    class Meta:
        model = Example
        fields = ["id", "issue", "text", "source", "status", "version", "created_at", "updated_at"]
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
    version = version_field()

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
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "approved_at", "created_at", "updated_at"]

    def get_sample(self, response: Response) -> dict[str, Any] | None:
        try:
            reply = render_reply(response.text, SAMPLE_CONTEXT, response.channel)
        except TemplateRenderError:  # a row stored before today's template rules: null, not a failed list
            return None
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
    severity = serializers.ChoiceField(
        choices=Issue.Severity.choices,
        required=False,
        help_text="How urgent its mentions are: safety and privacy first, then high, normal, low.",
    )
    department = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Department.objects.all(),
        allow_null=True,
        required=False,
        help_text="The department that owns it (by name) and gets its digest.",
        error_messages={"does_not_exist": "Unknown department {value!r}."},
    )
    examples = ExampleSerializer(many=True, read_only=True)
    responses = NestedResponseSerializer(many=True, read_only=True)
    version = version_field()

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
            "severity",
            "department",
            "examples",
            "responses",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def to_representation(self, issue: Issue) -> dict[str, Any]:
        data = super().to_representation(issue)
        data["examples"] = [item for item in data["examples"] if item["status"] != Example.Status.RETIRED]
        return data


# ---- filters ----------------------------------------------------------------------------------


def _brands_visible(request: Request | None) -> QuerySet[Brand]:
    served = brands_served_by(getattr(request, "user", None))
    return Brand.objects.all() if served is None else Brand.objects.filter(pk__in=[b.pk for b in served])


class BrandKeyFilter(django_filters.ModelChoiceFilter):
    """A list filtered by brand key: one the person asking may see, or a 400 naming ``brand``
    with the message a push gets (a brand they do not serve reads as unknown, like one that
    does not exist)."""

    def __init__(self, field_name: str = "brand", **kwargs: Any) -> None:
        kwargs.setdefault("queryset", _brands_visible)
        kwargs.setdefault("to_field_name", "key")
        kwargs.setdefault("error_messages", {"invalid_choice": "Unknown brand %(value)r."})
        super().__init__(field_name=field_name, **kwargs)


class BrandFilter(django_filters.FilterSet):
    class Meta:
        model = Brand
        fields = ["key"]


class IssueFilter(django_filters.FilterSet):
    brand = BrandKeyFilter()
    tag = django_filters.CharFilter(field_name="tags__name")
    active = django_filters.BooleanFilter(field_name="is_active")

    class Meta:
        model = Issue
        fields = ["key", "brand", "tag", "active", "private_channel"]


class ResponseFilter(django_filters.FilterSet):
    issue = django_filters.CharFilter(field_name="issue__key")
    brand = BrandKeyFilter(field_name="issue__brand")
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
    # ?search= words, each found in any of search_fields (case-insensitive), as the admin's box.
    filter_backends = [DjangoFilterBackend, filters.SearchFilter]
    search_fields: list[str] = []

    # A stale `version` in the body; a stale If-Match makes it 412.
    stale_status: int = status.HTTP_409_CONFLICT

    def served(self, rows: QuerySet[Any]) -> QuerySet[Any]:
        return rows.filter(served_rows(self.request.user, self.brand_path))

    def expected_version(self, row: Any, data: dict[str, Any] | None = None) -> int | None:
        """The version the writer read (``version`` leaves ``data``): If-Match, else the body's."""
        in_body = data.pop("version", None) if data is not None else None
        header = self.request.headers.get("If-Match")
        if header is None:
            return in_body
        self.stale_status = status.HTTP_412_PRECONDITION_FAILED
        return if_match_version(header, row)

    def written(self, serializer: serializers.BaseSerializer) -> tuple[Any, dict[str, Any], int | None]:
        """The row, the values to write and the version the writer read."""
        data = dict(serializer.validated_data)
        return serializer.instance, data, self.expected_version(serializer.instance, data)

    def created(self, serializer: serializers.BaseSerializer) -> dict[str, Any]:
        data = dict(serializer.validated_data)
        data.pop("version", None)  # a new row starts at 1
        return data

    def perform_destroy(self, instance: Any) -> None:
        self.retire(instance, self.expected_version(instance))

    def retire(self, instance: Any, expected_version: int | None) -> None:
        raise NotImplementedError

    def handle_exception(self, exc: Exception) -> ApiResponse:
        if isinstance(exc, services.StaleVersion):
            set_rollback()
            return ApiResponse(
                stale_body(exc), status=self.stale_status, headers={"ETag": entity_tag(exc.row)}
            )
        if isinstance(exc, services.LibraryConflict):
            set_rollback()
            return ApiResponse({"detail": " ".join(exc.messages)}, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        data = getattr(response, "data", None)
        one = getattr(self, "action", None) in {"retrieve", "create", "update", "partial_update"}
        if one and response.status_code < 300 and isinstance(data, dict) and {"id", "version"} <= set(data):
            response["ETag"] = f'"{data["id"]}-{data["version"]}"'
        return response


class BrandViewSet(LibraryViewSet):
    serializer_class = BrandSerializer
    filterset_class = BrandFilter
    search_fields = SEARCHED_FIELDS["brand"]
    brand_path = "pk"

    def get_queryset(self) -> QuerySet[Brand]:
        return self.served(Brand.objects.all())

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.brand_create(created_by=self.request.user, **self.created(serializer))

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        brand, data, expected = self.written(serializer)
        services.brand_update(brand=brand, updated_by=self.request.user, expected_version=expected, **data)

    def perform_destroy(self, instance: Brand) -> None:
        services.brand_delete(
            brand=instance, deleted_by=self.request.user, expected_version=self.expected_version(instance)
        )


class IssueViewSet(LibraryViewSet):
    serializer_class = IssueSerializer
    filterset_class = IssueFilter
    search_fields = SEARCHED_FIELDS["issue"]

    def get_queryset(self) -> QuerySet[Issue]:
        return self.served(
            Issue.objects.select_related("brand")
            .prefetch_related("tags", "examples__issue", "responses__created_by", "responses__approved_by")
            .distinct()
        )

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = self.created(serializer)
        active = data.pop("is_active", True)
        issue = services.issue_create(created_by=self.request.user, **data)
        if not active:
            services.issue_retire(issue=issue, retired_by=self.request.user)
        serializer.instance = issue

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        issue, data, expected = self.written(serializer)
        services.issue_update(issue=issue, updated_by=self.request.user, expected_version=expected, **data)

    def retire(self, instance: Issue, expected_version: int | None) -> None:
        services.issue_retire(issue=instance, retired_by=self.request.user, expected_version=expected_version)


class ResponseViewSet(LibraryViewSet):
    serializer_class = ResponseSerializer
    filterset_class = ResponseFilter
    search_fields = SEARCHED_FIELDS["response"]
    brand_path = "issue__brand"

    def get_queryset(self) -> QuerySet[Response]:
        return self.served(Response.objects.select_related("issue__brand", "created_by", "approved_by"))

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.response_create(
            created_by=self.request.user, **self.created(serializer)
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        response, data, expected = self.written(serializer)
        services.response_update(
            response=response, updated_by=self.request.user, expected_version=expected, **data
        )

    def retire(self, instance: Response, expected_version: int | None) -> None:
        if instance.status != Response.Status.RETIRED or expected_version is not None:
            services.response_update(
                response=instance,
                updated_by=self.request.user,
                expected_version=expected_version,
                status=Response.Status.RETIRED,
            )


class ExampleViewSet(LibraryViewSet):
    serializer_class = ExampleSerializer
    filterset_class = ExampleFilter
    search_fields = SEARCHED_FIELDS["example"]
    brand_path = "issue__brand"

    def get_queryset(self) -> QuerySet[Example]:
        return self.served(Example.objects.select_related("issue__brand"))

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        serializer.instance = services.example_create(
            created_by=self.request.user, **self.created(serializer)
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        example, data, expected = self.written(serializer)
        services.example_update(
            example=example, updated_by=self.request.user, expected_version=expected, **data
        )

    def retire(self, instance: Example, expected_version: int | None) -> None:
        services.example_retire(
            example=instance, retired_by=self.request.user, expected_version=expected_version
        )
