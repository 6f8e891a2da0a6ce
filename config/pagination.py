"""Pages of API lists: ``limit`` (1 to MAX_LIMIT, default PAGE_SIZE) and ``offset`` (from 0).
A value out of bounds is refused with a 400 naming the parameter, never clamped or ignored."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination, serializers
from rest_framework.request import Request

MAX_LIMIT = 200
# Past any list this project keeps, and inside what every database takes for an OFFSET.
MAX_OFFSET = 10_000_000


class PageQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT)
    offset = serializers.IntegerField(required=False, min_value=0, max_value=MAX_OFFSET)


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """DRF's limit/offset pages, with bounds that are checked and stated in the schema."""

    max_limit = MAX_LIMIT

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        given = PageQuerySerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        self.given: dict[str, int] = dict(given.validated_data)
        return super().paginate_queryset(queryset, request, view)

    def get_limit(self, request: Request) -> int | None:
        return self.given.get("limit", self.default_limit)

    def get_offset(self, request: Request) -> int:
        return self.given.get("offset", 0)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": MAX_LIMIT},
            self.offset_query_param: {"minimum": 0, "maximum": MAX_OFFSET},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
