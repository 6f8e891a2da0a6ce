"""Content gaps over REST, for editors and leads:

- GET /api/v1/gaps/ lists the open clusters, largest first (`?order=rising`: growing fastest
  first; `?brand=KEY`: one brand's); GET /api/v1/gaps/<id>/ one cluster with its example mentions.
- POST /api/v1/gaps/<id>/convert/ {"key", "title", "brand"} makes it a new issue;
  POST /api/v1/gaps/<id>/dismiss/ sets it aside.
- GET /api/v1/gaps/runs/ lists the runs; POST starts one ("Find content gaps now").
- /admin/insights/gaps/ is the editors' page (the GapCluster admin).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.routers import SimpleRouter

from insights.access import can_see_insights, gaps_visible_to
from insights.gaps import (
    GapRunInProgress,
    can_act_on_gaps,
    gap_convert,
    gap_dismiss,
    gap_examples,
    gaps_open,
)
from insights.models import GapCluster, GapMember, GapRun
from insights.tasks import gaps_find_start
from kb.api import BrandKeyField, BrandScoped
from kb.models import Brand, Issue
from kb.selectors import brands_served_by


class CanSeeGaps(permissions.BasePermission):
    message = "Only editors and leads see content gaps; acting on them also takes adding issues."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return can_see_insights(request.user)
        return can_act_on_gaps(request.user)


# ---- serializers ------------------------------------------------------------------------------


class GapFilterSerializer(BrandScoped):
    order = serializers.ChoiceField(choices=["volume", "rising"], default="volume")


class GapSerializer(serializers.ModelSerializer):
    brand: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="key", read_only=True)
    issue: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="key", read_only=True)
    trend = serializers.IntegerField(read_only=True, help_text="Last 7 days minus the 7 before.")

    class Meta:
        model = GapCluster
        fields = [
            "id",
            "label",
            "status",
            "volume",
            "recent",
            "previous",
            "trend",
            "first_seen",
            "last_seen",
            "brand",
            "channel",
            "issue",
            "decided_at",
            "run",
            "created_at",
        ]


class GapExampleSerializer(serializers.ModelSerializer):
    request = serializers.IntegerField(source="request_id")
    text = serializers.CharField(source="request.text")
    created_at = serializers.DateTimeField(source="request.created_at")

    class Meta:
        model = GapMember
        fields = ["request", "text", "reason", "centrality", "created_at"]


class GapDetailSerializer(GapSerializer):
    examples = serializers.SerializerMethodField()

    class Meta(GapSerializer.Meta):
        fields = [*GapSerializer.Meta.fields, "examples"]

    @extend_schema(responses=GapExampleSerializer(many=True))
    def get_examples(self, cluster: GapCluster) -> list[dict[str, Any]]:
        return GapExampleSerializer(gap_examples(cluster=cluster), many=True).data  # type: ignore[return-value]


class GapConvertSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=Issue._meta.get_field("key").max_length)
    title = serializers.CharField(max_length=Issue._meta.get_field("title").max_length)
    brand = BrandKeyField(
        required=False, allow_null=True, help_text="Absent: the cluster's brand; null: every brand."
    )

    def validate_brand(self, brand: Brand | None) -> Brand | None:
        served = brands_served_by(self.context.get("user"))
        if served is not None and brand not in served:
            raise serializers.ValidationError("You make issues only for the brands you serve.")
        return brand


class ConvertedIssueSerializer(serializers.ModelSerializer):
    brand: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="key", read_only=True)
    examples: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="text", many=True, read_only=True
    )

    class Meta:
        model = Issue
        fields = ["id", "key", "title", "brand", "examples"]


class GapRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = GapRun
        fields = [
            "id",
            "trigger",
            "status",
            "started_at",
            "finished_at",
            "mentions",
            "clusters",
            "noise",
            "took_ms",
            "error",
        ]


# ---- views ------------------------------------------------------------------------------------


class GapViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Clusters of mentions the library served badly; turn one into an issue, or dismiss it."""

    permission_classes = [permissions.IsAuthenticated, CanSeeGaps]
    serializer_class = GapSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        if self.action == "list":
            given = GapFilterSerializer(data=self.request.query_params, context={"user": self.request.user})
            given.is_valid(raise_exception=True)
            return gaps_open(
                brand=given.validated_data.get("brand"),
                rising_first=given.validated_data["order"] == "rising",
            )
        return GapCluster.objects.filter(gaps_visible_to(self.request.user)).select_related("brand", "issue")

    @extend_schema(
        parameters=[
            OpenApiParameter("brand", str, description="Only this brand's gaps (key)."),
            OpenApiParameter("order", str, enum=["volume", "rising"], description="Largest or rising first."),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        return super().list(request, *args, **kwargs)

    def get_serializer_class(self) -> Any:
        return GapSerializer if self.action == "list" else GapDetailSerializer

    @extend_schema(request=GapConvertSerializer, responses={201: ConvertedIssueSerializer})
    @action(detail=True, methods=["post"])
    def convert(self, request: Request, pk: str | None = None) -> ApiResponse:
        cluster = self.get_object()
        given = GapConvertSerializer(data=request.data, context={"user": request.user})
        given.is_valid(raise_exception=True)
        data = given.validated_data
        issue = gap_convert(
            cluster=cluster,
            key=data["key"],
            title=data["title"],
            brand=data.get("brand", cluster.brand),
            converted_by=request.user,
        )
        return ApiResponse(ConvertedIssueSerializer(issue).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: GapDetailSerializer})
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None) -> ApiResponse:
        cluster = gap_dismiss(cluster=self.get_object(), dismissed_by=request.user)
        return ApiResponse(GapDetailSerializer(cluster).data)


class GapRunsApi(generics.ListAPIView):
    """The clustering runs, newest first; POST finds content gaps now."""

    permission_classes = [permissions.IsAuthenticated, CanSeeGaps]
    serializer_class = GapRunSerializer
    queryset = GapRun.objects.all()
    filter_backends: list[Any] = []

    @extend_schema(request=None, responses={202: dict, 409: dict})
    def post(self, request: Request) -> ApiResponse:
        try:
            started = gaps_find_start()
        except GapRunInProgress as busy:
            return ApiResponse(
                {"detail": str(busy), "run": GapRunSerializer(busy.run).data}, status=status.HTTP_409_CONFLICT
            )
        return ApiResponse(
            {
                "status": "queued" if started.queued else "done",
                "task_id": started.task_id,
                "run": GapRunSerializer(started.run).data if started.run else None,
            },
            status=status.HTTP_202_ACCEPTED,
        )


def gaps_admin_page(request: HttpRequest) -> HttpResponseRedirect:
    """/admin/insights/gaps/: the open clusters, as the GapCluster admin lists them."""
    return HttpResponseRedirect(reverse("admin:insights_gapcluster_changelist"))


router = SimpleRouter()
router.register("gaps", GapViewSet, basename="gap")

api_urlpatterns: list[Any] = [
    path("gaps/runs/", GapRunsApi.as_view(), name="gap-runs"),
    *router.urls,
]
admin_urlpatterns: list[URLPattern] = [
    path("gaps/", admin.site.admin_view(gaps_admin_page), name="gaps"),
]
