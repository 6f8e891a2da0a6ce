"""The library's health, for editors: example phrasings that sit closer to another issue than to
their own, issues a channel cannot be answered on, responses too long for their channel or about to
expire, responses whose template failed to render for a customer, and responses agents never see
or seldom send.

Cheap enough to compute on request: the conflicts compare the served index's vectors in blocks
(nothing is re-encoded), the rest are a few queries. The numbers behind "rarely accepted" are
RARELY_MIN_SHOWN and RARELY_ACCEPTED_BELOW."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, Max, Q, QuerySet
from django.utils import timezone

from insights.analytics import analytics_filter
from insights.analytics import responses_usage as analytics_responses_usage
from insights.models import RenderFailure
from kb.admin.base import rendered_sample
from kb.channels import Channel
from kb.models import Brand, Example, Issue, Response
from kb.selectors import responses_live
from suggestions.engine import IndexUnavailable, LibraryVectors, issue_of_title, library_vectors

DEFAULT_EXPIRING_DAYS = 14
DEFAULT_USAGE_DAYS = 30
# A response shown at least this often, and sent (accepted or edited) after fewer than this share
# of its showings, is "rarely accepted": 10 showings make a rate below 20% more than bad luck.
RARELY_MIN_SHOWN = 10
RARELY_ACCEPTED_BELOW = 0.2
# Every channel a mention can arrive on; `any` is not one, it answers them all.
MENTION_CHANNELS = (Channel.TWITTER, Channel.FACEBOOK, Channel.INSTAGRAM, Channel.EMAIL)
# Rows of examples compared with the whole index at once: 512 x 10,000 similarities is 20 MB.
CONFLICT_BLOCK_ROWS = 512
CONFLICTS_CACHE_SECONDS = 600


@dataclass(frozen=True)
class IssueRef:
    id: int
    key: str
    title: str

    @classmethod
    def of(cls, issue: Issue) -> IssueRef:
        return cls(issue.pk, issue.key, issue.title)


@dataclass(frozen=True)
class Conflict:
    """An active example phrasing closer to another issue than to anything of its own issue."""

    example_id: int
    example_text: str
    issue: IssueRef
    own_similarity: float  # to its issue's nearest other example, or its title
    other_issue: IssueRef
    other_similarity: float
    other_text: str  # the other issue's nearest example, or its title

    @property
    def margin(self) -> float:
        return self.other_similarity - self.own_similarity


@dataclass(frozen=True)
class ConflictPair:
    """How many of an issue's examples are closer to one other issue: the summary an editor
    reads before the list (an issue worth merging or splitting shows here)."""

    issue: IssueRef
    other_issue: IssueRef
    count: int


def conflicts_by_pair(found: list[Conflict]) -> list[ConflictPair]:
    """The conflicts summed by (issue, the issue they are closer to), the largest first."""
    counts: dict[tuple[IssueRef, IssueRef], int] = defaultdict(int)
    for conflict in found:
        counts[conflict.issue, conflict.other_issue] += 1
    pairs = [ConflictPair(issue, other, count) for (issue, other), count in counts.items()]
    return sorted(pairs, key=lambda pair: (-pair.count, pair.issue.key, pair.other_issue.key))


@dataclass(frozen=True)
class Conflicts:
    """The conflicts found in the served index; ``unavailable`` says why none could be looked for."""

    index_version: str | None
    found: list[Conflict]
    unavailable: str = ""


@dataclass(frozen=True)
class MissingChannels:
    """An active issue with no live response for these channels, nor one for any channel."""

    issue: IssueRef
    channels: list[str]


@dataclass(frozen=True)
class ResponseRef:
    id: int
    key: str
    channel: str
    status: str
    issue: IssueRef


@dataclass(frozen=True)
class TooLong:
    """A response whose reply, rendered for the sample customer, exceeds its channel's limit."""

    response: ResponseRef
    length: int
    limit: int


@dataclass(frozen=True)
class Expiring:
    response: ResponseRef
    valid_until: datetime


@dataclass(frozen=True)
class FailedToRender:
    """A response not retired whose current text failed to render for a mention, so its draft
    was left out ``failures`` times."""

    response: ResponseRef
    failures: int
    first_failed_at: datetime
    last_failed_at: datetime
    reason: str


@dataclass(frozen=True)
class Usage:
    """How often a live response was shown to agents in the period, and sent after showing."""

    response: ResponseRef
    shown: int
    sent: int
    acceptance_rate: float | None  # sent / shown; None when never shown


@dataclass(frozen=True)
class LibraryHealth:
    brand: str | None  # key; None: every brand
    expiring_days: int
    usage_days: int
    conflicts: Conflicts
    missing_channels: list[MissingChannels]
    too_long: list[TooLong]
    render_failures: list[FailedToRender]
    expiring: list[Expiring]
    never_suggested: list[Usage]
    rarely_accepted: list[Usage]
    rarely_min_shown: int = RARELY_MIN_SHOWN
    rarely_accepted_below: float = RARELY_ACCEPTED_BELOW


def library_health(
    *,
    brand: Brand | None = None,
    expiring_days: int = DEFAULT_EXPIRING_DAYS,
    usage_days: int = DEFAULT_USAGE_DAYS,
    now: datetime | None = None,
) -> LibraryHealth:
    """Every finding of the health report for the issues serving ``brand`` (None: all issues;
    an issue with no brand serves every brand)."""
    now = now or timezone.now()
    usage = responses_usage(brand=brand, days=usage_days, now=now)
    return LibraryHealth(
        brand=brand.key if brand else None,
        expiring_days=expiring_days,
        usage_days=usage_days,
        conflicts=examples_conflicting(brand=brand),
        missing_channels=issues_missing_channels(brand=brand, now=now),
        too_long=responses_too_long(brand=brand),
        render_failures=responses_failing_to_render(brand=brand),
        expiring=responses_expiring(brand=brand, within=timedelta(days=expiring_days), now=now),
        never_suggested=[item for item in usage if item.shown == 0],
        rarely_accepted=[
            item
            for item in usage
            if item.shown >= RARELY_MIN_SHOWN and item.sent < RARELY_ACCEPTED_BELOW * item.shown
        ],
    )


def serves_brand(brand: Brand | None, prefix: str = "") -> Q:
    """Issues (reached through ``prefix``, e.g. ``"issue__"``) that answer mentions of ``brand``."""
    if brand is None:
        return Q()
    return Q(**{f"{prefix}brand__isnull": True}) | Q(**{f"{prefix}brand": brand})


def _response_ref(response: Response) -> ResponseRef:
    return ResponseRef(
        response.pk, response.key, response.channel, response.status, IssueRef.of(response.issue)
    )


def _responses(queryset: QuerySet[Response], brand: Brand | None) -> QuerySet[Response]:
    return queryset.filter(serves_brand(brand, "issue__"), issue__is_active=True).select_related("issue")


# -- Conflicts ------------------------------------------------------------------------------------


def examples_conflicting(*, brand: Brand | None = None) -> Conflicts:
    """Active examples whose nearest vector of another issue (example or title) in the served index
    is more similar than their issue's nearest other example or title, most striking first.

    Only issues that could answer the same mention compete: the same brand, or one serving every
    brand. Examples retired or moved since the index was built are read as the library has them.
    The comparison takes seconds on a 10,000-example library, so it is kept for
    CONFLICTS_CACHE_SECONDS per index version, brand and state of the examples."""
    try:
        served = library_vectors()
    except IndexUnavailable as exc:
        return Conflicts(index_version=None, found=[], unavailable=str(exc))
    examples = Example.objects.aggregate(
        active=Count("pk", filter=Q(status=Example.Status.ACTIVE)), changed=Max("updated_at")
    )
    changed = examples["changed"].timestamp() if examples["changed"] else 0
    key = f"insights-conflicts-{served.state}-{brand.pk if brand else 'all'}-{examples['active']}-{changed}"
    conflicts = cache.get(key)
    if conflicts is None:
        conflicts = _conflicts_in(served, brand)
        cache.set(key, conflicts, CONFLICTS_CACHE_SECONDS)
    return conflicts


def _conflicts_in(served: LibraryVectors, brand: Brand | None) -> Conflicts:
    vectors, ids = served.arrays()
    issue_of, texts = _vector_issues(ids)
    kept = np.array([int(vector) in issue_of for vector in ids], dtype=bool)
    vectors, ids = vectors[kept], ids[kept]
    in_index = list(Issue.objects.filter(pk__in=set(issue_of.values())))
    issues = {issue.pk: IssueRef.of(issue) for issue in in_index}
    brand_of = {issue.pk: issue.brand_id for issue in in_index}
    labels = np.array([issue_of[int(vector)] for vector in ids], dtype=np.int64)
    # -1 stands for "every brand" so brands compare as plain integers.
    brands = np.array([brand_of[label] or -1 for label in labels], dtype=np.int64)
    in_scope = np.ones(len(ids), dtype=bool) if brand is None else np.isin(brands, (-1, brand.pk))
    queries = np.flatnonzero(in_scope & served.examples(ids))
    found: list[Conflict] = []
    for row, own, column, other in _nearest_own_and_other(vectors, labels, brands, in_scope, queries):
        found.append(
            Conflict(
                example_id=int(ids[row]),
                example_text=texts[int(ids[row])],
                issue=issues[int(labels[row])],
                own_similarity=round(own, 4),
                other_issue=issues[int(labels[column])],
                other_similarity=round(other, 4),
                other_text=texts[int(ids[column])],
            )
        )
    found.sort(key=lambda conflict: (-conflict.margin, conflict.example_id))
    return Conflicts(index_version=served.version, found=found)


def _nearest_own_and_other(
    vectors: np.ndarray, labels: np.ndarray, brands: np.ndarray, in_scope: np.ndarray, queries: np.ndarray
) -> Iterator[tuple[int, float, int, float]]:
    """For each query row closer to a vector of another issue that could answer the same mention
    than to any other vector of its own issue: (row, own similarity, that vector, its similarity).
    Rows are compared with every vector a block at a time, so memory stays bounded."""
    classes, row_class = np.unique(brands, return_inverse=True)
    # may_meet[c, j]: an issue of brand class c and vector j's issue may answer the same mention.
    may_meet = (classes[:, None] == -1) | (brands[None, :] == -1) | (classes[:, None] == brands[None, :])
    may_meet &= in_scope[None, :]
    for start in range(0, len(queries), CONFLICT_BLOCK_ROWS):
        rows = queries[start : start + CONFLICT_BLOCK_ROWS]
        block = np.arange(len(rows))
        similarity = vectors[rows] @ vectors.T
        similarity[block, rows] = -np.inf  # an example is not its own neighbour
        same = labels[rows, None] == labels[None, :]
        own = np.where(same, similarity, -np.inf).max(axis=1)
        similarity[same | ~may_meet[row_class[rows]]] = -np.inf
        nearest = similarity.argmax(axis=1)
        other = similarity[block, nearest]
        # An example alone in its issue (no title indexed) has nothing to be closer to.
        for offset in np.flatnonzero((other > own) & np.isfinite(own)):
            yield int(rows[offset]), float(own[offset]), int(nearest[offset]), float(other[offset])


def _vector_issues(ids: np.ndarray) -> tuple[dict[int, int], dict[int, str]]:
    """For each vector that still counts (an active example, or the title of an active issue), its
    issue id and its text, as the library has them now."""
    example_ids = [int(vector) for vector in ids if issue_of_title(int(vector)) is None]
    title_issues = {
        issue: int(vector) for vector in ids if (issue := issue_of_title(int(vector))) is not None
    }
    issue_of: dict[int, int] = {}
    texts: dict[int, str] = {}
    examples = Example.objects.filter(
        pk__in=example_ids, status=Example.Status.ACTIVE, issue__is_active=True
    ).values_list("pk", "issue_id", "text")
    for example_id, issue_id, text in examples:
        issue_of[example_id], texts[example_id] = issue_id, text
    titles = Issue.objects.filter(pk__in=title_issues, is_active=True).values_list("pk", "title")
    for issue_id, title in titles:
        vector = title_issues[issue_id]
        issue_of[vector], texts[vector] = issue_id, title
    return issue_of, texts


# -- Responses ------------------------------------------------------------------------------------


def issues_missing_channels(
    *, brand: Brand | None = None, now: datetime | None = None
) -> list[MissingChannels]:
    """Active issues with, for some channel, no live response written for it nor for any channel."""
    answered: dict[int, set[str]] = defaultdict(set)
    for issue_id, channel in responses_live(now=now).values_list("issue_id", "channel"):
        answered[issue_id].add(channel)
    missing = []
    for issue in Issue.objects.filter(serves_brand(brand), is_active=True).order_by("key"):
        channels = answered[issue.pk]
        if Channel.ANY in channels:
            continue
        gaps = [str(channel) for channel in MENTION_CHANNELS if channel not in channels]
        if gaps:
            missing.append(MissingChannels(IssueRef.of(issue), gaps))
    return missing


def responses_too_long(*, brand: Brand | None = None) -> list[TooLong]:
    """Responses not retired whose reply for the sample customer is over their channel's limit
    (a template that no longer renders is left to the response's own page)."""
    too_long = []
    responses = _responses(Response.objects.exclude(status=Response.Status.RETIRED), brand)
    for response in responses.order_by("issue__key", "key"):
        rendered = rendered_sample(response)
        if rendered is not None and rendered.limit is not None and not rendered.fits_channel:
            too_long.append(TooLong(_response_ref(response), rendered.length, rendered.limit))
    return too_long


def responses_failing_to_render(*, brand: Brand | None = None) -> list[FailedToRender]:
    """Responses not retired whose current text failed to render for a mention, last failed first."""
    failures = RenderFailure.objects.filter(
        template=F("response__text"),
        response__in=_responses(Response.objects.exclude(status=Response.Status.RETIRED), brand),
    ).select_related("response__issue")
    return [
        FailedToRender(
            _response_ref(failure.response),
            failure.failures,
            failure.first_failed_at,
            failure.last_failed_at,
            failure.reason,
        )
        for failure in failures.order_by("-last_failed_at", "response__key")
    ]


def render_failure_record(*, response_key: str, template: str, reason: str, **_: object) -> None:
    """Count a failure to render ``template``, the text of the response ``response_key``
    (receiver of suggestions.signals.reply_render_failed). A failure of another text starts the
    count again."""
    response = Response.objects.filter(key=response_key).only("pk").first()
    if response is None:
        return
    now = timezone.now()
    reason = reason[: RenderFailure._meta.get_field("reason").max_length or 300]
    # A savepoint: a failure to count never breaks the transaction the answer is given in.
    with transaction.atomic():
        counted = RenderFailure.objects.filter(response=response, template=template).update(
            failures=F("failures") + 1, last_failed_at=now, reason=reason
        )
        if not counted:
            RenderFailure.objects.update_or_create(
                response=response,
                defaults={
                    "template": template,
                    "failures": 1,
                    "first_failed_at": now,
                    "last_failed_at": now,
                    "reason": reason,
                },
            )


def responses_expiring(
    *, brand: Brand | None = None, within: timedelta, now: datetime | None = None
) -> list[Expiring]:
    """Live responses whose validity ends within ``within`` from now, soonest first."""
    now = now or timezone.now()
    responses = _responses(responses_live(now=now).filter(valid_until__lte=now + within), brand)
    return [
        Expiring(_response_ref(response), response.valid_until)
        for response in responses.order_by("valid_until", "key")
        if response.valid_until is not None
    ]


def responses_usage(*, brand: Brand | None = None, days: int, now: datetime | None = None) -> list[Usage]:
    """Each live response, with the times it was shown to an agent on a mention in the last
    ``days`` days (today included) and how many of those showings an agent sent it after, counted
    as analytics count them; least shown first. Mentions of every brand count: the brand only
    chooses the responses."""
    today = timezone.localdate(now)
    period = analytics_filter(since=today - timedelta(days=days - 1), until=today)
    counted = {row.response_key: row for row in analytics_responses_usage(filters=period)}
    usage = []
    for response in _responses(responses_live(now=now), brand).order_by("issue__key", "key"):
        row = counted.get(response.key)
        shown, sent = (row.suggested, row.sent) if row else (0, 0)
        usage.append(Usage(_response_ref(response), shown, sent, round(sent / shown, 4) if shown else None))
    return sorted(usage, key=lambda item: item.shown)
