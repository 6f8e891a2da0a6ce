"""insights.analytics: what editors and leads read about suggestions, feedback and answer times."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from console.models import Mention
from insights.analytics import (
    abstentions_over_time,
    analytics_filter,
    bucket_starts,
    issues_usage,
    issues_volume,
    mentions_summary,
    responses_usage,
)
from suggestions.models import Feedback
from tests.factories import (
    BrandFactory,
    FeedbackFactory,
    IssueFactory,
    ResponseFactory,
    UserFactory,
    request_with_suggestions,
)

pytestmark = pytest.mark.django_db

ACCEPTED, EDITED, REJECTED = Feedback.Action.ACCEPTED, Feedback.Action.EDITED, Feedback.Action.REJECTED


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def days_ago(days: int, hour: int = 12) -> datetime:
    return at(timezone.localdate() - timedelta(days=days), hour)


def mention(responses, *, when: datetime | None = None, **fields):
    return request_with_suggestions(responses, created_at=when or days_ago(1), **fields)


def answer(request, response, action, agent=None):
    return FeedbackFactory(request=request, response=response, action=action, given_by=agent or UserFactory())


@pytest.fixture
def baggage():
    return IssueFactory(key="lost-baggage", title="Lost baggage")


@pytest.fixture
def cancelled():
    return IssueFactory(key="cancelled-flight", title="Cancelled flight")


@pytest.fixture
def bag_dm(baggage):
    return ResponseFactory(issue=baggage, key="bag-dm")


@pytest.fixture
def bag_email(baggage):
    return ResponseFactory(issue=baggage, key="bag-email", channel="email")


@pytest.fixture
def rebook(cancelled):
    return ResponseFactory(issue=cancelled, key="rebook")


def by_response(filters):
    return {row.response_key: row for row in responses_usage(filters=filters)}


def test_no_data_gives_zeros_empty_tables_and_no_rates():
    filters = analytics_filter()

    summary = mentions_summary(filters=filters)
    assert (summary.mentions, summary.abstained, summary.answered, summary.timed) == (0, 0, 0, 0)
    assert summary.abstained_share is None and summary.answered_share is None
    assert summary.answer_median is None and summary.answer_p90 is None
    assert responses_usage(filters=filters) == []
    assert issues_usage(filters=filters) == []
    volume = issues_volume(filters=filters)
    assert volume.series == [] and len(volume.periods) == 30
    points = abstentions_over_time(filters=filters)
    assert len(points) == 30
    assert all(point.mentions == 0 and point.rate is None for point in points)


def test_each_response_counts_showings_first_places_and_answers(bag_dm, rebook):
    first = mention([bag_dm, rebook])
    second = mention([rebook, bag_dm])
    third = mention([bag_dm])
    answer(first, bag_dm, ACCEPTED)
    answer(second, rebook, EDITED)
    answer(third, bag_dm, REJECTED)

    rows = by_response(analytics_filter())

    dm, rb = rows["bag-dm"], rows["rebook"]
    assert (dm.suggested, dm.shown_first, dm.accepted, dm.edited, dm.rejected) == (3, 2, 1, 0, 1)
    assert dm.acceptance_rate == pytest.approx(1 / 3)
    assert (rb.suggested, rb.shown_first, rb.accepted, rb.edited, rb.rejected) == (2, 1, 0, 1, 0)
    assert rb.acceptance_rate == pytest.approx(1 / 2)
    assert (dm.issue_key, dm.issue_title) == ("lost-baggage", "Lost baggage")
    assert [row.response_key for row in responses_usage(filters=analytics_filter())] == ["bag-dm", "rebook"]


def test_abstained_mentions_count_as_mentions_but_never_as_suggested(bag_dm):
    mention([bag_dm], abstained=True)

    filters = analytics_filter()
    assert responses_usage(filters=filters) == []
    assert issues_usage(filters=filters) == []
    summary = mentions_summary(filters=filters)
    assert (summary.mentions, summary.abstained, summary.abstained_share) == (1, 1, 1.0)
    [series] = issues_volume(filters=filters).series
    assert series.abstained and series.total == 1


def test_answers_of_several_agents_on_one_showing_count_in_each_column_once_in_the_rate(bag_dm):
    request = mention([bag_dm])
    answer(request, bag_dm, ACCEPTED)
    answer(request, bag_dm, ACCEPTED)
    answer(request, bag_dm, EDITED)
    answer(request, bag_dm, REJECTED)

    row = by_response(analytics_filter())["bag-dm"]

    assert (row.suggested, row.accepted, row.edited, row.rejected) == (1, 1, 1, 1)
    assert row.acceptance_rate == 1.0


def test_acceptance_by_issue_adds_up_its_responses_and_counts_its_mentions(bag_dm, bag_email, rebook):
    answer(mention([bag_dm, rebook]), bag_dm, ACCEPTED)
    answer(mention([bag_email]), bag_email, REJECTED)
    answer(mention([rebook, bag_email]), bag_email, EDITED)

    rows = {row.issue_key: row for row in issues_usage(filters=analytics_filter())}

    bags = rows["lost-baggage"]
    assert (bags.suggested, bags.shown_first, bags.accepted, bags.edited, bags.rejected) == (3, 2, 1, 1, 1)
    assert bags.acceptance_rate == pytest.approx(2 / 3)
    assert (rows["cancelled-flight"].suggested, rows["cancelled-flight"].acceptance_rate) == (2, 0.0)


def test_filters_by_brand_channel_and_period(bag_dm):
    acme, globex = BrandFactory(key="acme-air"), BrandFactory(key="globex-bank", name="Globex")
    mention([bag_dm], brand=acme, channel="twitter")
    mention([bag_dm], brand=acme, channel="facebook")
    mention([bag_dm], brand=globex, channel="twitter")
    mention([bag_dm], brand=acme, channel="twitter", when=days_ago(10))

    def shown(**kwargs):
        return mentions_summary(filters=analytics_filter(**kwargs)).mentions, by_response(
            analytics_filter(**kwargs)
        )["bag-dm"].suggested

    assert shown() == (4, 4)
    assert shown(brand=acme) == (3, 3)
    assert shown(brand=acme, channel="twitter") == (2, 2)
    assert shown(channel="facebook") == (1, 1)
    two_days = timezone.localdate() - timedelta(days=2)
    assert shown(since=two_days) == (3, 3)
    assert shown(until=two_days) == (1, 1)


def test_the_period_holds_whole_days_at_both_ends(bag_dm):
    since, until = date(2024, 3, 4), date(2024, 3, 6)
    inside = [at(since, 0), at(until, 23)]
    outside = [at(since, 0) - timedelta(seconds=1), at(until + timedelta(days=1), 0)]
    for moment in inside + outside:
        mention([bag_dm], when=moment)

    assert mentions_summary(filters=analytics_filter(since=since, until=until)).mentions == len(inside)


def test_by_default_the_last_thirty_days_count(bag_dm):
    mention([bag_dm], when=days_ago(29, hour=0))
    mention([bag_dm], when=days_ago(30, hour=23))

    filters = analytics_filter()

    assert (filters.until - filters.since).days == 29
    assert mentions_summary(filters=filters).mentions == 1


def test_volume_per_issue_follows_the_first_suggestion_by_day_with_empty_days_as_zero(bag_dm, rebook):
    since = date(2024, 3, 4)
    mention([bag_dm, rebook], when=at(since))
    mention([bag_dm], when=at(since))
    mention([rebook, bag_dm], when=at(since + timedelta(days=2)))
    mention([rebook], abstained=True, when=at(since + timedelta(days=2)))

    volume = issues_volume(filters=analytics_filter(since=since, until=since + timedelta(days=3)))

    assert volume.periods == [since + timedelta(days=n) for n in range(4)]
    assert [(series.issue_key, series.counts) for series in volume.series] == [
        ("lost-baggage", [2, 0, 0, 0]),
        ("cancelled-flight", [0, 0, 1, 0]),
        ("", [0, 0, 1, 0]),
    ]
    assert volume.series[0].label == "Lost baggage"


def test_weekly_buckets_start_on_monday(bag_dm):
    wednesday = date(2024, 3, 6)
    mention([bag_dm], when=at(wednesday))
    mention([bag_dm], when=at(date(2024, 3, 10)))  # Sunday, same week
    mention([bag_dm], when=at(date(2024, 3, 11)))  # Monday after

    filters = analytics_filter(since=wednesday, until=date(2024, 3, 12))
    volume = issues_volume(filters=filters, bucket="week")

    assert volume.periods == [date(2024, 3, 4), date(2024, 3, 11)]
    assert volume.series[0].counts == [2, 1]
    assert [point.mentions for point in abstentions_over_time(filters=filters, bucket="week")] == [2, 1]


def test_days_are_the_sites_local_days(bag_dm, settings):
    settings.TIME_ZONE = "America/New_York"
    day = date(2024, 3, 5)
    mention([bag_dm], when=at(day, hour=23))  # 04:00 UTC the next day

    filters = analytics_filter(since=day, until=day + timedelta(days=1))

    assert issues_volume(filters=filters).series[0].counts == [1, 0]
    assert [point.mentions for point in abstentions_over_time(filters=filters)] == [1, 0]


def test_abstain_rate_over_time(bag_dm):
    day = date(2024, 3, 4)
    mention([bag_dm], when=at(day))
    mention([bag_dm], abstained=True, when=at(day))
    mention([bag_dm], abstained=True, when=at(day + timedelta(days=1)))
    mention([], abstained=True, when=at(day + timedelta(days=1)))

    points = abstentions_over_time(filters=analytics_filter(since=day, until=day + timedelta(days=2)))

    assert [(point.period, point.mentions, point.abstained) for point in points] == [
        (day, 2, 1),
        (day + timedelta(days=1), 2, 2),
        (day + timedelta(days=2), 0, 0),
    ]
    assert [point.rate for point in points] == [0.5, 1.0, None]


def test_summary_shares_and_time_to_answer_over_mentions_that_reported_arrival(bag_dm):
    sent = days_ago(1)
    for minutes in (4, 1, 3, 2):
        mention([bag_dm], received_at=sent - timedelta(minutes=minutes), answered_at=sent)
    mention([bag_dm], answered_at=sent)  # no received_at: answered, but not timed
    mention([bag_dm], received_at=sent)  # not answered yet
    mention([bag_dm], abstained=True)

    summary = mentions_summary(filters=analytics_filter())

    assert (summary.mentions, summary.abstained, summary.answered) == (7, 1, 5)
    assert (summary.with_received_at, summary.timed) == (5, 4)
    assert summary.answered_share == pytest.approx(5 / 7)
    assert summary.abstained_share == pytest.approx(1 / 7)
    assert summary.answer_median == timedelta(minutes=2.5)
    assert summary.answer_p90 == timedelta(minutes=3.7)


def test_one_timed_mention_is_its_own_median_and_p90(bag_dm):
    sent = days_ago(1)
    mention([bag_dm], received_at=sent - timedelta(seconds=90), answered_at=sent)

    summary = mentions_summary(filters=analytics_filter())

    assert summary.answer_median == summary.answer_p90 == timedelta(seconds=90)


def test_tables_take_the_same_number_of_queries_however_many_rows(bag_dm, django_assert_max_num_queries):
    for n in range(12):
        response = ResponseFactory(issue=IssueFactory(key=f"issue-x{n}"), key=f"reply-{n}")
        answer(mention([response, bag_dm]), response, ACCEPTED)

    with django_assert_max_num_queries(2):
        assert len(responses_usage(filters=analytics_filter())) == 13
        assert len(issues_usage(filters=analytics_filter())) == 13


def test_bucket_starts_cover_the_whole_period():
    filters = analytics_filter(since=date(2024, 2, 28), until=date(2024, 3, 1))

    assert bucket_starts(filters=filters, bucket="day") == [
        date(2024, 2, 28),
        date(2024, 2, 29),
        date(2024, 3, 1),
    ]
    assert bucket_starts(filters=filters, bucket="week") == [date(2024, 2, 26)]


def test_trials_by_people_are_told_apart_from_real_mentions(bag_dm):
    integration = UserFactory()
    integration.groups.add(Group.objects.get(name="Integrations"))
    person = UserFactory()
    mention([bag_dm], requested_by=integration)
    from_the_inbox = mention([bag_dm])
    Mention.objects.create(
        text="x", external_id="1", channel="twitter", received_at=timezone.now(), suggestion=from_the_inbox
    )
    mention([bag_dm], requested_by=person)  # someone trying the API with their own token
    mention([bag_dm])  # the command line: nobody asked, no inbox mention

    summary = mentions_summary(filters=analytics_filter())

    assert (summary.mentions, summary.trials) == (4, 2)
