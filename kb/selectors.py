"""Reads of the library that other parts of Careline build on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
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
    brand_id: int | None = None  # of the issue; None for an issue every brand shares


# What a search of the library looks in, per model: the admin's search box and the API's ?search=.
SEARCHED_FIELDS: dict[str, list[str]] = {
    "brand": ["key", "name", "handle"],
    "issue": ["key", "title", "description", "examples__text", "responses__text"],
    "response": ["key", "text", "issue__key", "issue__title"],
    "example": ["text", "issue__key", "issue__title"],
}


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


def response_answers(response: Response, *, brand: Brand | None, channel: str) -> bool:
    """Whether a response may answer a mention of ``brand`` on ``channel``, live or not: written
    for that channel or any, on an issue of that brand or every brand's (any issue, for a mention
    that names no brand). The rule replies_for_issues applies in SQL."""
    issue_brand_id = response.issue.brand_id
    return response.channel in (channel, Channel.ANY) and (
        brand is None or issue_brand_id is None or issue_brand_id == brand.pk
    )


def response_unsendable_because(
    *, response: Response, brand: Brand | None, channel: str, now: datetime | None = None
) -> str:
    """Why ``response`` may not be sent now to a mention of ``brand`` on ``channel``, in words an
    agent understands; empty when it may (live, see responses_live, and answering that brand and
    channel). Reads the response as it is now, whatever the caller holds."""
    now = now or timezone.now()
    current = Response.objects.select_related("issue__brand").filter(pk=response.pk).first()
    if current is None:
        return f"{response.key!r} no longer exists"
    if responses_live(now=now).filter(pk=current.pk).exists():
        if response_answers(current, brand=brand, channel=channel):
            return ""
        if current.channel not in (channel, Channel.ANY):
            written_for, asked = Channel(current.channel).label, Channel(channel).label
            return f"{current.key!r} is written for {written_for}, not {asked}"
        owner = current.issue.brand
        mentioned = brand.name if brand else "this brand"
        return f"{current.key!r} belongs to {owner.name if owner else 'another brand'}, not {mentioned}"
    if current.status != Response.Status.APPROVED:
        status = Response.Status(current.status).label.lower()
        return f"{current.key!r} is no longer approved (it is {status} now)"
    if not current.issue.is_active:
        return f"{current.key!r} answers an issue that was retired"
    if current.valid_until is not None and current.valid_until <= now:
        return f"{current.key!r} has expired"
    return f"{current.key!r} is not valid yet"


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


def library_searchable_texts(
    *, now: datetime | None = None, issue_ids: Iterable[int] | None = None
) -> list[SearchableText]:
    """Every active example phrasing and the title of each searchable issue (of ``issue_ids``
    alone, when given), in a stable order."""
    issues = issues_searchable(now=now)
    if issue_ids is not None:
        issues = issues.filter(pk__in=list(issue_ids))
    titles = [
        SearchableText(issue_id, None, title, brand_id)
        for issue_id, title, brand_id in issues.values_list("id", "title", "brand_id")
    ]
    examples = [
        SearchableText(issue_id, example_id, text, brand_id)
        for example_id, issue_id, text, brand_id in Example.objects.filter(
            issue__in=issues, status=Example.Status.ACTIVE
        ).values_list("id", "issue_id", "text", "issue__brand_id")
    ]
    return sorted(titles + examples, key=lambda item: (item.issue_id, item.example_id or 0))


# The two reads below sit on the path of every suggestion. They are plain SQL because the ORM
# spends more time building these queries (0.6-0.9 ms each, measured) than the database spends
# answering them (~0.05 ms); responses_live() above is the same rule written for the ORM, and a
# test keeps the two in agreement.


def examples_matchable(*, example_ids: Iterable[int]) -> dict[int, SearchableText]:
    """The given examples that still count (active, on an active issue), by id."""
    ids = list(example_ids)
    if not ids:
        return {}
    sql = (
        f"SELECT e.id, e.issue_id, e.text FROM {Example._meta.db_table} e "
        f"JOIN {Issue._meta.db_table} i ON i.id = e.issue_id "
        f"WHERE e.status = %s AND i.is_active AND e.id IN ({_placeholders(ids)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Example.Status.ACTIVE, *ids])
        rows = cursor.fetchall()
    return {example_id: SearchableText(issue_id, example_id, text) for example_id, issue_id, text in rows}


@dataclass(frozen=True)
class LiveReply:
    """A response that may be suggested now, with what rendering it needs of its issue and brand."""

    response_id: int
    key: str
    text: str
    channel: str
    issue_id: int
    issue_key: str
    issue_title: str
    private_channel: bool
    brand_name: str  # of the issue's brand; empty for an issue every brand shares
    brand_handle: str


def replies_for_issues(
    *, issue_ids: Iterable[int], brand: Brand | None, channel: str, now: datetime | None = None
) -> dict[int, LiveReply]:
    """For each issue that may answer this brand on this channel, its best live response: one
    written for the channel before one for any channel, then the most recently approved."""
    ids = list(issue_ids)
    if not ids:
        return {}
    moment = connection.ops.adapt_datetimefield_value(now or timezone.now())
    sql = (
        "SELECT r.id, r.key, r.text, r.channel, i.id, i.key, i.title, i.private_channel, b.name, b.handle "
        f"FROM {Response._meta.db_table} r "
        f"JOIN {Issue._meta.db_table} i ON i.id = r.issue_id "
        f"LEFT JOIN {Brand._meta.db_table} b ON b.id = i.brand_id "
        "WHERE r.status = %s AND i.is_active "
        "AND (r.valid_from IS NULL OR r.valid_from <= %s) AND (r.valid_until IS NULL OR r.valid_until > %s) "
        f"AND r.channel IN (%s, %s) AND r.issue_id IN ({_placeholders(ids)})"
    )
    params: list[Any] = [Response.Status.APPROVED, moment, moment, channel, Channel.ANY, *ids]
    if brand is not None:
        sql += " AND (i.brand_id = %s OR i.brand_id IS NULL)"
        params.append(brand.pk)
    sql += " ORDER BY COALESCE(r.approved_at, r.created_at), r.id"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    best: dict[int, LiveReply] = {}
    for row in rows:
        response_id, key, text, reply_channel, issue_id, issue_key, issue_title = row[:7]
        reply = LiveReply(
            response_id,
            key,
            text,
            reply_channel,
            issue_id,
            issue_key,
            issue_title,
            bool(row[7]),
            row[8] or "",
            row[9] or "",
        )
        current = best.get(reply.issue_id)
        if current is None or current.channel == Channel.ANY or reply.channel != Channel.ANY:
            best[reply.issue_id] = reply
    return best


def _placeholders(values: list[int]) -> str:
    return ", ".join(["%s"] * len(values))


def brands_served_by(user: Any) -> list[Brand] | None:
    """The brands someone serves, or None when they see every brand (a superuser, or someone
    who serves no brand in particular)."""
    if user is None or not user.is_authenticated or user.is_superuser:
        return None
    return list(Brand.objects.filter(members=user)) or None


def served_rows(user: Any, brand_path: str = "brand") -> Q:
    """What someone who serves particular brands sees of rows reaching a brand by ``brand_path``:
    those brands' rows and the ones every brand shares (no brand). Everyone else sees all."""
    served = brands_served_by(user)
    if served is None:
        return Q()
    ids = [brand.pk for brand in served]
    return Q(**{f"{brand_path}__in": ids}) | Q(**{f"{brand_path}__isnull": True})


def may_edit_for(user: Any, brand: Brand | None) -> bool:
    """Whether someone may change the library of ``brand`` (None: what every brand shares).
    Someone who serves particular brands changes only theirs; everyone else, everything."""
    served = brands_served_by(user)
    return served is None or (brand is not None and brand in served)


def brand_of(row: Brand | Issue | Example | Response) -> Brand | None:
    """The brand a library row belongs to (None: shared by every brand)."""
    if isinstance(row, Brand):
        return row
    if isinstance(row, Issue):
        return row.brand
    return row.issue.brand


def brand_choices(user: Any) -> tuple[QuerySet[Brand], Brand | None]:
    """For a form's brand field: the brands someone may pick, and the one shown when they pick
    none (None: every brand, for someone who serves no brand in particular)."""
    served = brands_served_by(user)
    if served is None:
        return Brand.objects.all(), None
    return Brand.objects.filter(pk__in=[brand.pk for brand in served]), served[0]
