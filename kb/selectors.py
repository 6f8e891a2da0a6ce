"""Reads of the library that other parts of Careline build on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from kb.channels import Channel
from kb.models import Brand, Example, Issue, Response


@dataclass(frozen=True)
class SearchableText:
    """A text retrieval may match: an example phrasing, or an issue's title (example_id None)."""

    issue_id: int
    example_id: int | None
    text: str


def responses_live(*, now: datetime | None = None) -> QuerySet[Response]:
    """Responses that may be suggested right now: approved, inside their validity window, on an
    active issue."""
    now = now or timezone.now()
    return Response.objects.filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=now),
        Q(valid_until__isnull=True) | Q(valid_until__gt=now),
        status=Response.Status.APPROVED,
        issue__is_active=True,
    )


def issues_searchable(*, now: datetime | None = None) -> QuerySet[Issue]:
    """Active issues with an approved response that is valid now or will be: the only ones worth
    finding. A scheduled reply (an outage statement from 10:00) is searchable ahead of time, and
    the query-time check shows it from the moment it becomes valid."""
    now = now or timezone.now()
    approved = Response.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=now),
        issue=OuterRef("pk"),
        status=Response.Status.APPROVED,
    )
    return Issue.objects.filter(Exists(approved), is_active=True)


def library_searchable_texts(*, now: datetime | None = None) -> list[SearchableText]:
    """Every active example phrasing and the title of each searchable issue, in a stable order."""
    issues = issues_searchable(now=now)
    titles = [SearchableText(issue_id, None, title) for issue_id, title in issues.values_list("id", "title")]
    examples = [
        SearchableText(issue_id, example_id, text)
        for example_id, issue_id, text in Example.objects.filter(
            issue__in=issues, status=Example.Status.ACTIVE
        ).values_list("id", "issue_id", "text")
    ]
    return sorted(titles + examples, key=lambda item: (item.issue_id, item.example_id or 0))


def examples_matchable(*, example_ids: Iterable[int]) -> dict[int, Example]:
    """The given examples that still count: active, on an active issue."""
    found = Example.objects.filter(
        id__in=list(example_ids), status=Example.Status.ACTIVE, issue__is_active=True
    ).only("id", "issue_id", "text")
    return {example.pk: example for example in found}


def responses_for_issues(
    *, issue_ids: Iterable[int], brand: Brand | None, channel: str, now: datetime | None = None
) -> dict[int, Response]:
    """For each issue that may answer this brand on this channel, its best live response: one
    written for the channel before one for any channel, then the most recently approved."""
    live = responses_live(now=now).filter(issue_id__in=list(issue_ids)).select_related("issue__brand")
    if brand is not None:
        live = live.filter(Q(issue__brand=brand) | Q(issue__brand__isnull=True))
    live = live.filter(channel__in={channel, Channel.ANY})
    best: dict[int, Response] = {}
    for response in live.order_by("approved_at", "id"):
        current = best.get(response.issue_id)
        if current is None or current.channel == Channel.ANY or response.channel != Channel.ANY:
            best[response.issue_id] = response
    return best
