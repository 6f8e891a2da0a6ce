"""Content gaps: selecting the mentions the library served badly, clustering them, and turning a
cluster into a new issue (or dismissing it). The one service every entry point calls is
``gaps_find``: the Celery task, the admin button, the API and ``manage.py cluster_gaps``."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User as Account
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django.utils.text import Truncator, slugify
from sklearn.cluster import HDBSCAN
from sklearn.decomposition import PCA

from insights.access import can_see_insights
from insights.models import GapCluster, GapMember, GapRun, GapRunLock
from kb.models import Brand, Example, Issue
from kb.services import User, example_create, issue_create
from suggestions.engine import texts_embed
from suggestions.models import Feedback, SuggestedResponse, SuggestionRequest
from suggestions.privacy import personal_data_redact
from suggestions.text import normalize_mention

logger = logging.getLogger(__name__)

# Mean cosine of a lone cluster's mentions to their centre, for it to count as one topic. With
# all-MiniLM-L6-v2: 0.75-0.86 for 8 phrasings of one BANKING77 category or 5 tweets about gift
# cards; 0.46-0.53 for 20 messages of 20 different banking categories.
SINGLE_TOPIC_COHERENCE = 0.65
# Cosine of a phrasing to its cluster's centre below which it is left out of the gap: chosen with
# bench/gaps.py --tune on BANKING77 messages the scored 10,000 do not hold.
MEMBER_MIN_CENTRALITY = 0.7

TREND_DAYS = 7
EXAMPLE_MAX_LENGTH = Example._meta.get_field("text").max_length or 1000
LABEL_MAX_LENGTH = GapCluster._meta.get_field("label").max_length or 300
KEY_WORDS = 6
Reason = GapMember.Reason
Status = GapCluster.Status
DECIDED = (Status.CONVERTED, Status.DISMISSED)
T = TypeVar("T")
# Mentions in the last 7 days minus the 7 before (GapCluster.trend), for ordering in the database.
GROWTH = F("recent") - F("previous")


class GapRunInProgress(Exception):
    """Another run holds the turn: runs never overlap."""

    def __init__(self, run: GapRun) -> None:
        self.run = run
        super().__init__(f"Gap run #{run.pk} is still running (started {run.started_at:%Y-%m-%d %H:%M}).")


def can_act_on_gaps(user: User | None) -> bool:
    """Running, converting and dismissing also need the right to add issues."""
    return can_see_insights(user) and bool(user and user.has_perm("kb.add_issue"))


# ---- selectors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A stored mention the library served badly, and why it counts."""

    request_id: int
    text: str
    brand_id: int | None
    channel: str
    created_at: datetime
    reason: str


def gap_candidates(
    *, since: datetime, until: datetime, confidence_below: float | None = None
) -> list[Candidate]:
    """Mentions asked between `since` and `until` that the engine abstained on (unless an agent
    sent one of its closest drafts), whose first shown suggestion was below `confidence_below`
    (default: the CARELINE_GAP_CONFIDENCE setting), or whose feedback was all rejections; none
    already in a converted or dismissed cluster. Oldest first, so a run is deterministic."""
    threshold = settings.CARELINE_GAP_CONFIDENCE if confidence_below is None else confidence_below
    mention = OuterRef("pk")
    weak_first = SuggestedResponse.objects.filter(
        request=mention, position=1, shown=True, confidence__lt=threshold
    )
    sent = Feedback.objects.filter(
        request=mention, action__in=[Feedback.Action.ACCEPTED, Feedback.Action.EDITED]
    )
    rejected = Feedback.objects.filter(request=mention, action=Feedback.Action.REJECTED)
    decided = GapMember.objects.filter(request=mention, cluster__status__in=DECIDED)
    rows = (
        SuggestionRequest.objects.filter(created_at__gte=since, created_at__lt=until)
        .annotate(weak=Exists(weak_first), rejected=Exists(rejected), sent=Exists(sent))
        .exclude(Exists(decided))
        .order_by("created_at", "pk")
        .values_list(
            "pk", "text", "brand_id", "channel", "created_at", "abstained", "weak", "rejected", "sent"
        )
    )
    candidates = []
    for pk, text, brand_id, channel, created_at, abstained, weak, was_rejected, was_sent in rows.iterator():
        if abstained and not was_sent:  # sent from a closest draft: the library had the answer
            reason = Reason.ABSTAINED
        elif was_rejected and not was_sent:
            reason = Reason.REJECTED
        elif weak:
            reason = Reason.LOW_CONFIDENCE
        else:
            continue
        candidates.append(Candidate(pk, text, brand_id, channel, created_at, reason))
    return candidates


def gaps_open(*, brand: Brand | None = None, rising_first: bool = False) -> QuerySet[GapCluster]:
    """Open clusters, largest first (or growing fastest first), optionally of one brand."""
    clusters = GapCluster.objects.filter(status=Status.OPEN).select_related("brand", "run")
    if brand is not None:
        clusters = clusters.filter(brand=brand)
    clusters = clusters.annotate(growth=GROWTH)
    order = ["-growth", "-volume"] if rising_first else ["-volume", "-growth"]
    return clusters.order_by(*order, "-id")


def gap_examples(*, cluster: GapCluster) -> list[GapMember]:
    """The cluster's example mentions, most central first."""
    return list(cluster.members.filter(is_example=True).select_related("request").order_by("-centrality"))


def gap_example_phrasings(*, cluster: GapCluster) -> list[str]:
    """The example mentions as the engine reads them, without the customers' personal data
    (suggestions.privacy): normalized, each phrasing once."""
    phrasings: dict[str, str] = {}
    for member in gap_examples(cluster=cluster):
        text = personal_data_redact(normalize_mention(member.request.text))
        if text and len(text) <= EXAMPLE_MAX_LENGTH:
            phrasings.setdefault(text.casefold(), text)
    return list(phrasings.values())


def gap_issue_defaults(*, cluster: GapCluster) -> dict[str, object]:
    """What the convert form starts with: a free key and a title from the label, and the brand
    most of the mentions named."""
    words = slugify(cluster.label).split("-")[:KEY_WORDS]
    base = "-".join(words)[:90].strip("-") or f"gap-{cluster.pk}"
    key, suffix = base, 2
    while Issue.objects.filter(key=key).exists():
        key, suffix = f"{base}-{suffix}", suffix + 1
    title = Truncator(cluster.label).chars(Issue._meta.get_field("title").max_length or 200)
    return {"key": key, "title": title[:1].upper() + title[1:], "brand": cluster.brand}


def gap_run_current() -> GapRun | None:
    """The run under way, if any (one that outlived the task time limit has been abandoned)."""
    return GapRun.objects.filter(status=GapRun.Status.RUNNING, started_at__gte=_abandoned_before()).first()


# ---- clustering -------------------------------------------------------------------------------


def vectors_cluster(
    vectors: np.ndarray,
    *,
    min_cluster_size: int,
    dimensions: int,
    keys: Sequence[str] | None = None,
    min_centrality: float = 0.0,
) -> np.ndarray:
    """One label per row: the cluster it joins, or -1 for noise. HDBSCAN (density-based, so
    scattered mentions stay out) on the vectors reduced by PCA to `dimensions` (0: not reduced).
    Measured with bench/gaps.py on 10,000 mentions: 384 dimensions take minutes, 50 seconds,
    with clusters as pure. A lone group among stray mentions is found too (see below).

    Rows with the same `keys` (the same words sent by several customers) are clustered once and
    join their phrasing's cluster afterwards: repeats of one message never make a cluster of
    their own, `min_cluster_size` counts different phrasings, and repeats do not pull a centre
    towards them. A phrasing whose cosine to its cluster's centre (the mean of its different
    phrasings) is below `min_centrality` is left out, with its repeats; a cluster left with fewer
    than `min_cluster_size` phrasings is dropped. Without keys every row is its own phrasing.
    Deterministic: the same vectors in the same order give the same labels."""
    count = len(vectors)
    firsts, phrasing_of_row = _distinct_rows(keys if keys is not None else range(count))
    phrasings = vectors[firsts]
    labels = _density_cluster(phrasings, min_cluster_size=min_cluster_size, dimensions=dimensions)
    if min_centrality > 0:
        labels = _far_phrasings_drop(
            phrasings, labels, min_centrality=min_centrality, min_cluster_size=min_cluster_size
        )
    return labels[phrasing_of_row] if count else labels


def _distinct_rows(keys: Iterable[object]) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each distinct key, in order, and for each row the index of its key."""
    index: dict[object, int] = {}
    firsts: list[int] = []
    phrasing_of_row: list[int] = []
    for row, key in enumerate(keys):
        if key not in index:
            index[key] = len(firsts)
            firsts.append(row)
        phrasing_of_row.append(index[key])
    return np.array(firsts, dtype=np.int64), np.array(phrasing_of_row, dtype=np.int64)


def _density_cluster(vectors: np.ndarray, *, min_cluster_size: int, dimensions: int) -> np.ndarray:
    count = len(vectors)
    if count < max(min_cluster_size, 2):
        return np.full(count, -1, dtype=np.int64)
    points = vectors
    if 0 < dimensions < min(count, vectors.shape[1]):
        points = PCA(n_components=dimensions, svd_solver="full").fit_transform(vectors)
    labels = HDBSCAN(min_cluster_size=min_cluster_size, copy=True).fit_predict(points)
    if labels.max() < 0:
        # HDBSCAN only finds groups that stand out from each other, so one topic among stray
        # mentions shows nothing. Allowed a single cluster it finds that topic, but it also lumps
        # unrelated mentions together: keep the cluster only if it holds together.
        single = HDBSCAN(min_cluster_size=min_cluster_size, copy=True, allow_single_cluster=True)
        candidate = single.fit_predict(points)
        members = vectors[candidate == 0]
        if len(members) and vectors_centrality(members).mean() >= SINGLE_TOPIC_COHERENCE:
            labels = candidate
    return labels.astype(np.int64)


def _far_phrasings_drop(
    vectors: np.ndarray, labels: np.ndarray, *, min_centrality: float, min_cluster_size: int
) -> np.ndarray:
    """`labels` without the rows far from their cluster's centre, and without the clusters too
    few rows are left in; the clusters kept are numbered from 0 in their former order."""
    kept = np.full(len(labels), -1, dtype=np.int64)
    number = 0
    for label in sorted(set(labels.tolist()) - {-1}):
        rows = np.flatnonzero(labels == label)
        near = rows[vectors_centrality(vectors[rows]) >= min_centrality]
        if len(near) >= min_cluster_size:
            kept[near] = number
            number += 1
    return kept


def vectors_centrality(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity of each (unit-length) vector to the group's normalized mean."""
    centre = vectors.mean(axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    return vectors @ centre


# ---- services ---------------------------------------------------------------------------------


def gaps_find(*, trigger: str = GapRun.Trigger.ON_DEMAND, now: datetime | None = None) -> GapRun:
    """Cluster the candidate mentions of the last CARELINE_GAP_WINDOW_DAYS and replace the open
    clusters with what this run finds; converted and dismissed clusters stay. Raises
    GapRunInProgress when another run is under way. A failure is recorded on the run, then
    raised."""
    run = _run_claim(trigger)
    started = time.perf_counter()
    try:
        now = now or timezone.now()
        candidates = gap_candidates(since=now - timedelta(days=settings.CARELINE_GAP_WINDOW_DAYS), until=now)
        texts = [normalize_mention(candidate.text) for candidate in candidates]
        vectors = texts_embed(texts)
        labels = vectors_cluster(
            vectors,
            min_cluster_size=settings.CARELINE_GAP_MIN_CLUSTER_SIZE,
            dimensions=settings.CARELINE_GAP_DIMENSIONS,
            keys=[text.casefold() for text in texts],
            min_centrality=MEMBER_MIN_CENTRALITY,
        )
        with transaction.atomic():
            GapCluster.objects.filter(status=Status.OPEN).delete()
            groups = [np.flatnonzero(labels == label) for label in sorted(set(labels.tolist()) - {-1})]
            for rows in groups:
                _cluster_store(run, [candidates[row] for row in rows], texts, rows, vectors[rows], now)
            run.mentions = len(candidates)
            run.clusters = len(groups)
            run.noise = int((labels == -1).sum())
            _run_finish(run, started, status=GapRun.Status.SUCCEEDED)
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"
        _run_finish(run, started, status=GapRun.Status.FAILED)
        raise
    logger.info(
        "Gap run #%s: %s mentions, %s clusters, %s noise", run.pk, run.mentions, run.clusters, run.noise
    )
    return run


@transaction.atomic
def gap_convert(
    *, cluster: GapCluster, key: str, title: str, brand: Brand | None, converted_by: User | None = None
) -> Issue:
    """Turn an open cluster into a new issue whose first example phrasings are the cluster's
    example mentions, and mark the cluster converted. A taken key (or any other refusal of
    kb.services) raises ValidationError with a message per field, and nothing changes."""
    cluster = _open_cluster_locked(cluster)
    issue = issue_create(key=key, title=title, brand=brand, created_by=converted_by)
    for text in gap_example_phrasings(cluster=cluster):
        example_create(issue=issue, text=text, source=Example.Source.LEARNED, created_by=converted_by)
    _cluster_decide(cluster, status=Status.CONVERTED, decided_by=converted_by, issue=issue)
    return issue


@transaction.atomic
def gap_dismiss(*, cluster: GapCluster, dismissed_by: User | None = None) -> GapCluster:
    """Set an open cluster aside: it stays, and its mentions are never clustered again."""
    cluster = _open_cluster_locked(cluster)
    _cluster_decide(cluster, status=Status.DISMISSED, decided_by=dismissed_by)
    return cluster


def _abandoned_before() -> datetime:
    # A worker killed mid-run leaves its run "running"; past the hard time limit it is not.
    return timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)


def _run_claim(trigger: str) -> GapRun:
    """Start a run unless one is under way; the lock row makes the check and the start one step."""
    with transaction.atomic():
        GapRunLock.objects.select_for_update().get_or_create(pk=1)
        GapRun.objects.filter(status=GapRun.Status.RUNNING, started_at__lt=_abandoned_before()).update(
            status=GapRun.Status.FAILED, finished_at=timezone.now(), error="Abandoned: never finished."
        )
        current = gap_run_current()
        if current is not None:
            raise GapRunInProgress(current)
        run = GapRun(trigger=trigger)
        run.full_clean()
        run.save()
    return run


def _run_finish(run: GapRun, started: float, *, status: str) -> None:
    run.status = status
    run.finished_at = timezone.now()
    run.took_ms = round((time.perf_counter() - started) * 1000, 1)
    run.save()


def _cluster_store(
    run: GapRun,
    members: Sequence[Candidate],
    texts: Sequence[str],
    rows: np.ndarray,
    vectors: np.ndarray,
    now: datetime,
) -> GapCluster:
    centrality = vectors_centrality(vectors)
    # Most central first; ties go to the older mention, so a rerun picks the same examples.
    order = sorted(
        range(len(members)), key=lambda i: (-round(float(centrality[i]), 6), members[i].request_id)
    )
    times = [member.created_at for member in members]
    recent_since = now - timedelta(days=TREND_DAYS)
    previous_since = recent_since - timedelta(days=TREND_DAYS)
    cluster = GapCluster(
        run=run,
        label=Truncator(texts[rows[order[0]]]).chars(LABEL_MAX_LENGTH),
        volume=len(members),
        first_seen=min(times),
        last_seen=max(times),
        recent=sum(recent_since <= moment for moment in times),
        previous=sum(previous_since <= moment < recent_since for moment in times),
        brand_id=_dominant(member.brand_id for member in members),
        channel=_dominant(member.channel for member in members),
    )
    cluster.full_clean()
    cluster.save()
    # The same words sent by several customers are one example: an editor needs different phrasings.
    examples = set(_first_distinct(order, [texts[rows[i]].casefold() for i in range(len(members))]))
    GapMember.objects.bulk_create(
        GapMember(
            cluster=cluster,
            request_id=member.request_id,
            reason=member.reason,
            centrality=round(float(centrality[i]), 6),
            is_example=i in examples,
        )
        for i, member in enumerate(members)
    )
    return cluster


def _first_distinct(order: Sequence[int], keys: Sequence[str]) -> list[int]:
    """Up to CARELINE_GAP_EXAMPLES positions, in ``order``, whose ``keys`` differ."""
    seen: set[str] = set()
    picked: list[int] = []
    for i in order:
        if keys[i] not in seen and len(picked) < settings.CARELINE_GAP_EXAMPLES:
            seen.add(keys[i])
            picked.append(i)
    return picked


def _dominant(values: Iterable[T]) -> T:
    """The most common value; a tie goes to the value seen first."""
    return Counter(values).most_common(1)[0][0]


def _open_cluster_locked(cluster: GapCluster) -> GapCluster:
    locked = GapCluster.objects.select_for_update().get(pk=cluster.pk)
    if locked.status != Status.OPEN:
        raise ValidationError(f"This gap was already {locked.get_status_display().lower()}.")
    return locked


def _cluster_decide(
    cluster: GapCluster, *, status: str, decided_by: User | None, issue: Issue | None = None
) -> None:
    cluster.status = status
    cluster.issue = issue
    cluster.decided_by = decided_by if isinstance(decided_by, Account) else None
    cluster.decided_at = timezone.now()
    cluster.full_clean()
    cluster.save()
