"""Response times against the response targets: GET /api/v1/analytics/sla/ and its admin page."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from django.contrib.auth.models import Group

from console.models import Mention, ResponseTarget
from insights.analytics import analytics_filter
from insights.sla import mentions_in, mentions_timed, sla_report
from tests.engine_fixtures import api_client_for
from tests.factories import BrandFactory, UserFactory

pytestmark = pytest.mark.django_db

SLA = "/api/v1/analytics/sla/"
PAGE = "/admin/insights/sla/"
PERIOD = {"since": "2026-03-01", "until": "2026-03-08"}


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def mention(external_id, brand, received, closed=None, *, channel="twitter", conversation_id=""):
    return Mention.objects.create(
        text=f"mention {external_id}",
        brand=brand,
        channel=channel,
        external_id=external_id,
        conversation_id=conversation_id,
        received_at=received,
        closed_at=closed,
        status=Mention.Status.ANSWERED if closed else Mention.Status.NEW,
    )


@pytest.fixture
def week():
    """Acme Air answers on X within 60 business minutes and resolves within 240, Monday to
    Friday 09:00-17:00 UTC; Globex on Facebook falls under the default (60 minutes, round the
    clock, no resolution target). 2026-03-02 is a Monday."""
    acme = BrandFactory(key="acme-air", name="Acme Air", handle="@AcmeAir")
    globex = BrandFactory(key="globex", name="Globex", handle="@Globex")
    ResponseTarget.objects.create(
        brand=acme,
        channel="twitter",
        first_response_minutes=60,
        resolution_minutes=240,
        weekdays="01234",
        opens_at=time(9),
        closes_at=time(17),
        time_zone="UTC",
    )
    # A thread that began in February: its reply's first response counts, its resolution does not.
    mention("before-root", acme, at(27, 10, month=2), at(27, 10, 5, month=2))
    mention("before-reply", acme, at(3, 9), at(3, 9, 5), conversation_id="before-root")  # 5 min
    mention("root", acme, at(3, 10), at(3, 10, 30))  # 30 min
    mention("reply", acme, at(3, 10, 40), at(3, 11, 20), conversation_id="root")  # 40; thread 80
    mention("weekend", acme, at(6, 16, 50), at(9, 9, 20))  # 64.5 hours, 30 business minutes
    mention("slow", acme, at(3, 11), at(3, 13))  # 120: over
    mention("waiting", acme, at(4, 12))  # still open, long past its target
    mention("long-root", acme, at(4, 9), at(4, 9, 10))  # 10
    mention("long-reply", acme, at(5, 9), at(5, 9, 30), conversation_id="long-root")  # 30; thread 510
    mention("g-quick", globex, at(7, 12), at(7, 12, 45), channel="facebook")  # 45
    mention("g-slow", globex, at(7, 13), at(7, 15), channel="facebook")  # 120: over, round the clock
    mention("march-9", acme, at(9, 10), at(9, 10, 5))  # after the period
    return {"acme": acme, "globex": globex}


def group(body, brand, channel):
    return next(item for item in body["groups"] if (item["brand"], item["channel"]) == (brand, channel))


def test_first_response_counts_business_minutes_against_each_target(week, editor_client):
    answer = editor_client.get(SLA, PERIOD)

    assert answer.status_code == 200, answer.content
    body = answer.json()
    acme = group(body, "acme-air", "twitter")["first_response"]
    # Closed: 5, 30, 40, 30 (the weekend), 120, 10, 30; one still open past its hour.
    assert (acme["closed"], acme["within"], acme["breached"], acme["open_breached"]) == (7, 6, 1, 1)
    assert acme["within_share"] == 0.75
    assert acme["median_minutes"] == 30
    assert acme["p90_minutes"] == 72  # 40 + (120 - 40) * 0.4
    globex = group(body, "globex", "facebook")
    assert globex["target"]["round_the_clock"] is True
    assert (globex["first_response"]["within"], globex["first_response"]["breached"]) == (1, 1)
    total = body["first_response"]
    assert (total["closed"], total["breaches"]) == (9, 3)


def test_resolution_runs_from_a_threads_first_mention_to_its_last_close(week, editor_client):
    body = editor_client.get(SLA, PERIOD).json()

    acme = group(body, "acme-air", "twitter")
    # Threads: root+reply 80, weekend 30, slow 120, long-root+reply 510 (over 240), waiting open.
    resolution = acme["resolution"]
    assert (resolution["closed"], resolution["within"], resolution["breached"]) == (4, 3, 1)
    assert resolution["open_breached"] == 1
    assert resolution["median_minutes"] == 100  # between 80 and 120
    assert acme["target"]["resolution_minutes"] == 240
    # Globex has no resolution target: its threads are timed, never breached.
    globex = group(body, "globex", "facebook")["resolution"]
    assert (globex["closed"], globex["breaches"], globex["within_share"]) == (2, 0, None)


def test_groups_with_the_most_breaches_come_first(week, editor_client):
    body = editor_client.get(SLA, PERIOD).json()

    assert [(item["brand"], item["channel"]) for item in body["groups"]] == [
        ("acme-air", "twitter"),
        ("globex", "facebook"),
    ]


def test_a_weekend_does_not_count_against_a_weekday_team(week):
    filters = analytics_filter(since=at(6, 0).date(), until=at(6, 0).date(), brand=week["acme"])

    timed = mentions_timed(mentions_in(filters))

    assert [item.minutes for item in timed.first_response] == [30]
    assert not timed.first_response[0].breached


def test_filters_choose_brand_and_channel(week, editor_client):
    body = editor_client.get(SLA, {**PERIOD, "brand": "globex"}).json()

    assert [item["brand"] for item in body["groups"]] == ["globex"]
    assert body["first_response"]["closed"] == 2
    assert editor_client.get(SLA, {**PERIOD, "channel": "facebook"}).json()["first_response"]["closed"] == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"since": "2026-03-09", "until": "2026-03-01"}, "since"),
        ({"brand": "nobody"}, "brand"),
        ({"until": "03/08/2026"}, "until"),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(week, editor_client, query, field):
    answer = editor_client.get(SLA, query)

    assert answer.status_code == 400
    assert field in answer.json()


def test_agents_do_not_see_response_times(week, agent_client):
    assert agent_client.get(SLA, PERIOD).status_code == 403


def test_a_lead_of_one_brand_sees_that_brand_only(week):
    lead = UserFactory(username="gina")
    lead.groups.add(Group.objects.get(name="Editors"))
    week["globex"].members.add(lead)
    client = api_client_for(lead)

    body = client.get(SLA, PERIOD).json()

    assert body["filters"]["brand"] == "globex"
    assert [item["brand"] for item in body["groups"]] == ["globex"]
    assert client.get(SLA, {**PERIOD, "brand": "acme-air"}).status_code == 400


def test_the_report_without_mentions_is_empty_not_an_error(db):
    report = sla_report(filters=analytics_filter(since=at(1, 0).date(), until=at(8, 0).date()))

    assert report.groups == []
    assert report.first_response.within_share is None
    assert report.first_response.median_minutes is None


def test_the_admin_page_shows_breaches_per_brand_and_channel(week, client, editor):
    client.force_login(editor)

    answer = client.get(PAGE, PERIOD)

    assert answer.status_code == 200
    page = answer.content.decode()
    assert '<strong id="sla-breaches">3</strong>' in page
    assert "Acme Air" in page and "Mon-Fri 09:00-17:00" in page
    assert "Globex" in page and "Round the clock" in page


def test_the_admin_page_names_a_bad_filter(week, client, editor):
    client.force_login(editor)

    page = client.get(PAGE, {"since": "2026-03-09", "until": "2026-03-01"}).content.decode()

    assert "since: Must be on or before until." in page
