"""Finding content gaps: which mentions are candidates, how they are clustered, and what a run
keeps and replaces."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from insights.gaps import (
    GapRunInProgress,
    gap_candidates,
    gap_convert,
    gap_dismiss,
    gap_examples,
    gaps_find,
    vectors_cluster,
)
from insights.models import GapCluster, GapMember, GapRun
from insights.tasks import gaps_find_task
from suggestions.embedder import use_embedder
from suggestions.models import Feedback
from suggestions.text import normalize_mention
from tests.factories import (
    BrandFactory,
    FeedbackFactory,
    ResponseFactory,
    SuggestionRequestFactory,
    UserFactory,
    request_with_suggestions,
)
from tests.insights.test_gaps_support import DIMENSION, PlannedEmbedder, group, mention, scattered

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned():
    embedder = PlannedEmbedder()
    with use_embedder(embedder):
        yield embedder


def member_ids(cluster: GapCluster) -> set[int]:
    return set(cluster.members.values_list("request_id", flat=True))


def ids(requests) -> set[int]:
    return {request.pk for request in requests}


def open_clusters() -> list[GapCluster]:
    return list(GapCluster.objects.filter(status=GapCluster.Status.OPEN).order_by("-volume"))


# ---- candidates -------------------------------------------------------------------------------


def candidate_reasons() -> dict[int, str]:
    now = timezone.now()
    found = gap_candidates(since=now - timedelta(days=30), until=now)
    return {candidate.request_id: candidate.reason for candidate in found}


def test_each_reason_makes_a_candidate_and_a_confident_answer_does_not(settings):
    settings.CARELINE_GAP_CONFIDENCE = 0.6
    response, other = ResponseFactory(), ResponseFactory()
    agent = UserFactory()
    abstained = request_with_suggestions([response], confidence=0.3, abstained=True)
    weak = request_with_suggestions([response], confidence=0.55)
    confident = request_with_suggestions([response], confidence=0.9)
    rejected = request_with_suggestions([response, other], confidence=0.9)
    FeedbackFactory(request=rejected, response=response, action=Feedback.Action.REJECTED, given_by=agent)
    FeedbackFactory(request=rejected, response=other, action=Feedback.Action.REJECTED, given_by=agent)

    assert candidate_reasons() == {
        abstained.pk: GapMember.Reason.ABSTAINED,
        weak.pk: GapMember.Reason.LOW_CONFIDENCE,
        rejected.pk: GapMember.Reason.REJECTED,
    }
    assert confident.pk not in candidate_reasons()


def test_a_mention_an_agent_answered_after_rejecting_one_suggestion_is_no_candidate():
    response, other = ResponseFactory(), ResponseFactory()
    agent = UserFactory()
    answered = request_with_suggestions([response, other], confidence=0.9)
    FeedbackFactory(request=answered, response=response, action=Feedback.Action.REJECTED, given_by=agent)
    FeedbackFactory(request=answered, response=other, action=Feedback.Action.EDITED, given_by=agent)

    assert answered.pk not in candidate_reasons()


def test_an_abstained_mention_answered_from_a_closest_draft_is_no_candidate():
    """The library had the answer, folded among the closest drafts: no gap to fill."""
    response = ResponseFactory()
    answered = request_with_suggestions([response], confidence=0.3, abstained=True)
    FeedbackFactory(
        request=answered, response=response, action=Feedback.Action.ACCEPTED, given_by=UserFactory()
    )
    unanswered = request_with_suggestions([response], confidence=0.3, abstained=True)

    assert candidate_reasons() == {unanswered.pk: GapMember.Reason.ABSTAINED}


def test_only_the_first_shown_suggestion_decides_low_confidence(settings):
    settings.CARELINE_GAP_CONFIDENCE = 0.6
    strong_first = request_with_suggestions([ResponseFactory()], confidence=0.8)
    weak_second = ResponseFactory()
    strong_first.suggested.create(
        response=weak_second, issue=weak_second.issue, position=2, confidence=0.2, shown=True
    )

    assert candidate_reasons() == {}
    settings.CARELINE_GAP_CONFIDENCE = 0.85
    assert candidate_reasons() == {strong_first.pk: GapMember.Reason.LOW_CONFIDENCE}


def test_mentions_outside_the_window_are_no_candidates(settings):
    settings.CARELINE_GAP_WINDOW_DAYS = 30
    old = SuggestionRequestFactory(abstained=True, created_at=timezone.now() - timedelta(days=31))
    recent = SuggestionRequestFactory(abstained=True, created_at=timezone.now() - timedelta(days=29))

    assert set(candidate_reasons()) == {recent.pk}
    assert old.pk not in candidate_reasons()


# ---- clustering -------------------------------------------------------------------------------


def test_a_run_finds_the_groups_and_leaves_scattered_mentions_out(planned):
    refunds = group(planned, "my refund never arrived", 12, axis=0)
    app = group(planned, "the app crashes when I open statements", 8, axis=1)
    lounge = group(planned, "lounge access refused with my card", 6, axis=2)
    loners = scattered(planned, 7, first_axis=10)

    run = gaps_find()

    assert (run.status, run.mentions, run.clusters, run.noise) == (GapRun.Status.SUCCEEDED, 33, 3, 7)
    clusters = open_clusters()
    assert [member_ids(cluster) for cluster in clusters] == [ids(refunds), ids(app), ids(lounge)]
    assert [cluster.volume for cluster in clusters] == [12, 8, 6]
    assert not GapMember.objects.filter(request__in=loners).exists()
    assert clusters[0].label.startswith("my refund never arrived")


def test_a_clusters_examples_are_its_most_central_mentions(planned, settings):
    settings.CARELINE_GAP_EXAMPLES = 3
    central = [mention(planned, f"card blocked abroad, story {n}", axis=0, spread=0.001) for n in range(3)]
    outer = [mention(planned, f"card blocked abroad, long story {n}", axis=0, spread=0.08) for n in range(5)]
    # HDBSCAN tells a group apart from others: with a single group it finds no cluster at all.
    group(planned, "mortgage letter missing", 6, axis=1)

    gaps_find()

    cluster = open_clusters()[0]
    examples = set(cluster.members.filter(is_example=True).values_list("request_id", flat=True))
    assert examples == ids(central)
    assert cluster.label in {f"card blocked abroad, story {n}" for n in range(3)}
    assert member_ids(cluster) == ids(central + outer)


def test_the_same_text_is_one_example_however_many_customers_sent_it(planned, settings):
    settings.CARELINE_GAP_EXAMPLES = 3
    same = [mention(planned, "Card blocked abroad", axis=0, spread=0.001) for _ in range(2)]
    same.append(mention(planned, "card blocked abroad", axis=0, spread=0.001))  # only the case differs
    others = [mention(planned, f"card blocked abroad, story {n}", axis=0, spread=0.02) for n in range(2)]
    outer = [mention(planned, f"card blocked abroad, long story {n}", axis=0, spread=0.08) for n in range(5)]
    group(planned, "mortgage letter missing", 6, axis=1)

    gaps_find()

    cluster = open_clusters()[0]
    assert member_ids(cluster) == ids(same + others + outer)
    texts = [member.request.text.casefold() for member in gap_examples(cluster=cluster)]
    assert len(texts) == 3 and len(set(texts)) == 3
    assert "card blocked abroad" in texts


def test_a_cluster_knows_its_volume_over_time_brand_and_channel(planned):
    now = timezone.now()
    globex = BrandFactory(key="globex", name="Globex", handle="@Globex")
    acme = BrandFactory()
    last_week = [
        mention(
            planned, f"statement missing {n}", axis=0, created_at=now - timedelta(days=1 + n), brand=globex
        )
        for n in range(5)
    ]
    for n in range(2):  # the week before
        mention(planned, f"statement gone {n}", axis=0, created_at=now - timedelta(days=8 + n), brand=acme)
    older = mention(
        planned,
        "statement lost",
        axis=0,
        created_at=now - timedelta(days=20),
        brand=globex,
        channel="facebook",
    )

    group(planned, "mortgage letter missing", 6, axis=1)

    gaps_find(now=now)

    cluster = open_clusters()[0]
    assert (cluster.volume, cluster.recent, cluster.previous, cluster.trend) == (8, 5, 2, 3)
    assert cluster.first_seen == older.created_at
    assert cluster.last_seen == last_week[0].created_at
    assert (cluster.brand, cluster.channel) == (globex, "twitter")


def test_reducing_dimensions_still_finds_the_groups(planned, settings):
    settings.CARELINE_GAP_DIMENSIONS = 4
    first = group(planned, "pin reset fails", 6, axis=0)
    second = group(planned, "cheque deposit stuck", 6, axis=1)

    run = gaps_find()

    assert run.clusters == 2
    assert sorted(member_ids(cluster) for cluster in open_clusters()) == sorted([ids(first), ids(second)])


def test_a_run_is_deterministic(planned):
    group(planned, "cashback missing", 9, axis=0)
    group(planned, "overdraft fee twice", 7, axis=1)
    scattered(planned, 5, first_axis=10)

    def outcome() -> list[tuple[str, frozenset[int], frozenset[int]]]:
        gaps_find()
        return [
            (
                cluster.label,
                frozenset(member_ids(cluster)),
                frozenset(cluster.members.filter(is_example=True).values_list("request_id", flat=True)),
            )
            for cluster in open_clusters()
        ]

    assert outcome() == outcome()


def test_one_topic_among_stray_mentions_is_found(planned, settings):
    settings.CARELINE_GAP_MIN_CLUSTER_SIZE = 5
    gift_cards = group(planned, "can I buy a gift card", 6, axis=0)
    loners = scattered(planned, 5, first_axis=10)

    run = gaps_find()

    assert run.clusters == 1
    (cluster,) = open_clusters()
    assert cluster.volume >= 5 and member_ids(cluster) <= ids(gift_cards)
    assert not GapMember.objects.filter(request__in=loners).exists()


def test_stray_mentions_alone_make_no_cluster(planned, settings):
    settings.CARELINE_GAP_MIN_CLUSTER_SIZE = 5
    scattered(planned, 9, first_axis=10)

    run = gaps_find()

    assert (run.clusters, run.noise) == (0, 9)


def test_too_few_candidates_make_no_cluster(planned, settings):
    settings.CARELINE_GAP_MIN_CLUSTER_SIZE = 5
    group(planned, "strange fee", 3, axis=0)

    run = gaps_find()

    assert (run.status, run.mentions, run.clusters, run.noise) == (GapRun.Status.SUCCEEDED, 3, 0, 3)


# ---- what a run replaces ----------------------------------------------------------------------


def test_a_run_replaces_open_clusters_and_keeps_converted_and_dismissed_ones(planned):
    refunds = group(planned, "refund late", 8, axis=0)
    fees = group(planned, "hidden fee", 7, axis=1)
    app = group(planned, "app logout loop", 6, axis=2)
    gaps_find()
    by_size = open_clusters()
    issue = gap_convert(cluster=by_size[0], key="refund-late", title="Refund late", brand=None)
    gap_dismiss(cluster=by_size[1])
    still_open = by_size[2]
    newcomers = group(planned, "refund late again", 5, axis=0)  # same topic as the converted gap

    run = gaps_find()

    converted = GapCluster.objects.get(status=GapCluster.Status.CONVERTED)
    dismissed = GapCluster.objects.get(status=GapCluster.Status.DISMISSED)
    assert (converted.issue, member_ids(converted)) == (issue, ids(refunds))
    assert member_ids(dismissed) == ids(fees)
    assert not GapCluster.objects.filter(pk=still_open.pk).exists()
    # The decided mentions are not clustered again; the rest are, in this run's clusters.
    assert run.mentions == len(app) + len(newcomers)
    assert [member_ids(cluster) for cluster in open_clusters()] == [ids(app), ids(newcomers)]
    assert {cluster.run for cluster in open_clusters()} == {run}


# ---- runs: lock, failure, entry points --------------------------------------------------------


def test_a_run_is_refused_while_another_is_under_way(planned):
    group(planned, "card frozen", 6, axis=0)
    busy = GapRun.objects.create(trigger=GapRun.Trigger.SCHEDULE)

    with pytest.raises(GapRunInProgress):
        gaps_find()

    assert list(GapRun.objects.all()) == [busy]
    assert not GapCluster.objects.exists()


def test_a_run_abandoned_past_the_time_limit_no_longer_blocks(planned, settings):
    group(planned, "card frozen", 6, axis=0)
    group(planned, "mortgage letter missing", 6, axis=1)
    abandoned = GapRun.objects.create(trigger=GapRun.Trigger.SCHEDULE)
    GapRun.objects.filter(pk=abandoned.pk).update(
        started_at=timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    )

    run = gaps_find()

    abandoned.refresh_from_db()
    assert (abandoned.status, run.status, run.clusters) == (GapRun.Status.FAILED, GapRun.Status.SUCCEEDED, 2)


def test_a_failed_run_is_recorded_and_keeps_the_open_clusters(planned):
    first = group(planned, "card frozen", 7, axis=0)
    second = group(planned, "mortgage letter missing", 6, axis=1)
    gaps_find()
    SuggestionRequestFactory(abstained=True, text="a mention the embedder cannot encode")

    with pytest.raises(KeyError):
        gaps_find()

    failed = GapRun.objects.first()
    assert failed.status == GapRun.Status.FAILED
    assert "KeyError" in failed.error
    assert [member_ids(cluster) for cluster in open_clusters()] == [ids(first), ids(second)]


def test_the_task_and_the_command_run_the_same_clustering(planned, settings):
    group(planned, "savings rate dropped", 6, axis=0)
    group(planned, "mortgage letter missing", 5, axis=1)
    scattered(planned, 2, first_axis=10)

    run_id = gaps_find_task.delay().get()
    output = StringIO()
    call_command("cluster_gaps", stdout=output)

    by_task, by_command = GapRun.objects.get(pk=run_id), GapRun.objects.first()
    assert by_task.trigger == GapRun.Trigger.SCHEDULE
    assert by_command.trigger == GapRun.Trigger.ON_DEMAND
    for run in (by_task, by_command):
        assert (run.status, run.mentions, run.clusters, run.noise) == (GapRun.Status.SUCCEEDED, 13, 2, 2)
    assert f"Gap run #{by_command.pk}: 13 mentions, 2 clusters, 2 left out as noise" in output.getvalue()
    assert settings.CELERY_BEAT_SCHEDULE["content-gaps"]["task"] == gaps_find_task.name


def test_the_task_skips_quietly_while_a_run_is_under_way(planned):
    GapRun.objects.create(trigger=GapRun.Trigger.ON_DEMAND)

    assert gaps_find_task.delay().get() is None
    assert GapRun.objects.count() == 1


# ---- purity: repeats and far-off members ------------------------------------------------------


def test_repeats_of_a_few_phrasings_never_make_a_gap_of_their_own(planned, settings):
    settings.CARELINE_GAP_MIN_CLUSTER_SIZE = 5
    # Twelve customers, three different phrasings: dense, but fewer than five ways of saying it.
    repeated = [
        mention(planned, f"@AcmeAir my card was swallowed at the {place}", axis=0, spread=0.001)
        for place in ("airport", "station", "mall")
        for _ in range(4)
    ]
    refunds = group(planned, "my refund never arrived", 6, axis=1)
    app = group(planned, "the app crashes when I open statements", 6, axis=2)

    run = gaps_find()

    assert [member_ids(cluster) for cluster in open_clusters()] == [ids(refunds), ids(app)]
    assert run.noise == len(repeated)
    assert not GapMember.objects.filter(request__in=repeated).exists()


def test_repeats_join_the_gap_of_their_phrasing(planned, settings):
    settings.CARELINE_GAP_MIN_CLUSTER_SIZE = 5
    refunds = group(planned, "my refund never arrived", 5, axis=0)
    again = [mention(planned, "my refund never arrived (customer 0)", axis=0) for _ in range(3)]
    app = group(planned, "the app crashes when I open statements", 6, axis=1)

    gaps_find()

    assert [member_ids(cluster) for cluster in open_clusters()] == [ids(refunds + again), ids(app)]


def test_a_member_far_from_its_gaps_centre_is_left_out(planned, settings):
    settings.CARELINE_GAP_MIN_CLUSTER_SIZE = 5
    gift_cards = group(planned, "can I buy a gift card", 8, axis=0)
    # Between gift cards and a topic of its own: near enough for the density to take it in,
    # a cosine of about 0.66 to the gift cards' centre.
    stroller = SuggestionRequestFactory(text="my stroller arrived broken", abstained=True)
    planned.plan(stroller.text, 0.6 * np.eye(DIMENSION)[0] + 0.8 * np.eye(DIMENSION)[3])
    app = group(planned, "the app crashes when I open statements", 8, axis=1)

    run = gaps_find()

    assert [member_ids(cluster) for cluster in open_clusters()] == [ids(gift_cards), ids(app)]
    assert run.noise == 1
    labels = vectors_cluster(
        planned.encode([normalize_mention(r.text) for r in [*gift_cards, stroller, *app]]),
        min_cluster_size=5,
        dimensions=0,
    )
    assert labels[len(gift_cards)] == labels[0]  # kept when nothing is trimmed
