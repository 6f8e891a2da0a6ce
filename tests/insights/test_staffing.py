"""Staffing from the console's events (insights.staffing, GET /api/v1/analytics/staffing/): a
two-week history built by hand, whose arrivals, handling times, agents needed and agents who
worked are worked out in the comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group

from console.models import Mention, MentionEvent
from tests.engine_fixtures import api_client_for
from tests.factories import (
    BrandFactory,
    FeedbackFactory,
    IssueFactory,
    ResponseFactory,
    UserFactory,
    request_with_suggestions,
)

pytestmark = pytest.mark.django_db

STAFFING = "/api/v1/analytics/staffing/"
# Monday 2 November to Sunday 15 November 2026: every hour of the week occurs twice.
PERIOD = {"since": "2026-11-02", "until": "2026-11-15"}
WEEK_1, WEEK_2 = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC)


def at(week: datetime, day: int, hour: int, minute: int) -> datetime:
    return week + timedelta(days=day, hours=hour, minutes=minute)


@pytest.fixture(autouse=True)
def _utc(settings):
    settings.TIME_ZONE = "UTC"


@pytest.fixture
def history(agent, editor):
    """Acme Air, Monday 09:00-10:00 of both weeks: three mentions each, handled 4, 6, 8 minutes
    (week 1, by Sam, Edith, Sam) and 10, 12, 20 minutes (week 2, all Sam; the 12 counts from the
    take after Sam released it). Tuesday of week 1: one at 14:00 Edith handles in 30 minutes, one
    at 15:00 Sam dismisses without opening it (not timed). Globex: one mention on Monday 09:40."""
    acme, globex = BrandFactory(key="acme-air"), BrandFactory(key="globex", name="Globex", handle="@Globex")
    baggage = ResponseFactory(issue=IssueFactory(brand=acme, key="baggage", title="Lost baggage"))
    delay = ResponseFactory(issue=IssueFactory(brand=acme, key="delay", title="Delays"))
    sam, edith = agent, editor
    Kind = MentionEvent.Kind

    def mention(brand, received, events, response=None, feedback=None):
        suggestion = None
        if response is not None:
            suggestion = request_with_suggestions([response], brand=brand, created_at=received)
            if feedback is not None:
                FeedbackFactory(
                    request=suggestion, response=response, action=feedback[1], given_by=feedback[0]
                )
        closing = events[-1] if events and events[-1][0] in (Kind.ANSWERED, Kind.DISMISSED) else None
        item = Mention.objects.create(
            text="@AcmeAir where is my bag",
            brand=brand,
            channel="twitter",
            external_id=f"t-{Mention.objects.count()}",
            received_at=received,
            status=closing[0] if closing else Mention.Status.NEW,
            suggestion=suggestion,
        )
        MentionEvent.objects.create(mention=item, kind=Kind.RECEIVED, at=received)
        for kind, who, when in events:
            MentionEvent.objects.create(mention=item, kind=kind, agent=who, at=when)

    accepted, edited = "accepted", "edited"
    mention(
        acme,
        at(WEEK_1, 0, 9, 0),
        [(Kind.TAKEN, sam, at(WEEK_1, 0, 9, 1)), (Kind.ANSWERED, sam, at(WEEK_1, 0, 9, 5))],
        baggage,
        (sam, accepted),
    )
    mention(
        acme,
        at(WEEK_1, 0, 9, 10),
        [(Kind.TAKEN, edith, at(WEEK_1, 0, 9, 12)), (Kind.ANSWERED, edith, at(WEEK_1, 0, 9, 18))],
        baggage,
        (edith, edited),
    )
    mention(
        acme,
        at(WEEK_1, 0, 9, 20),
        [(Kind.OPENED, sam, at(WEEK_1, 0, 9, 30)), (Kind.ANSWERED, sam, at(WEEK_1, 0, 9, 38))],
        baggage,
        (sam, edited),
    )
    mention(
        acme,
        at(WEEK_2, 0, 9, 0),
        [(Kind.TAKEN, sam, at(WEEK_2, 0, 9, 2)), (Kind.ANSWERED, sam, at(WEEK_2, 0, 9, 12))],
        baggage,
        (sam, accepted),
    )
    mention(
        acme,
        at(WEEK_2, 0, 9, 15),
        [
            (Kind.OPENED, sam, at(WEEK_2, 0, 9, 20)),
            (Kind.RELEASED, sam, at(WEEK_2, 0, 9, 21)),
            (Kind.TAKEN, sam, at(WEEK_2, 0, 9, 25)),
            (Kind.ANSWERED, sam, at(WEEK_2, 0, 9, 37)),
        ],
        baggage,
    )
    mention(
        acme,
        at(WEEK_2, 0, 9, 30),
        [(Kind.TAKEN, sam, at(WEEK_2, 0, 9, 35)), (Kind.ANSWERED, sam, at(WEEK_2, 0, 9, 55))],
        baggage,
    )
    mention(
        acme,
        at(WEEK_1, 1, 14, 0),
        [(Kind.OPENED, edith, at(WEEK_1, 1, 14, 5)), (Kind.ANSWERED, edith, at(WEEK_1, 1, 14, 35))],
        delay,
    )
    mention(acme, at(WEEK_1, 1, 15, 0), [(Kind.DISMISSED, sam, at(WEEK_1, 1, 15, 10))])
    mention(globex, at(WEEK_1, 0, 9, 40), [])
    # Outside the period: never counted.
    mention(acme, at(WEEK_1, -1, 9, 0), [(Kind.TAKEN, sam, at(WEEK_1, -1, 9, 1))])


def hour(body, weekday, hour_of_day):
    return next(item for item in body["hours"] if (item["weekday"], item["hour"]) == (weekday, hour_of_day))


def staffing(client, **params):
    answer = client.get(STAFFING, {**PERIOD, **params})
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_every_hour_of_the_week_is_answered_in_order(history, editor_client):
    body = staffing(editor_client, brand="acme-air")

    assert [(item["weekday"], item["hour"]) for item in body["hours"]] == [
        (day, hour_of_day) for day in range(7) for hour_of_day in range(24)
    ]
    assert set(body["hours"][0]) >= {
        "weekday",
        "hour",
        "arrivals_per_hour",
        "handle_minutes",
        "agents_needed",
        "agents_worked",
    }


def test_arrivals_handling_and_agents_of_a_busy_hour(history, editor_client):
    monday_nine = hour(staffing(editor_client, brand="acme-air", target_minutes=1, service_level=0.8), 0, 9)

    # Six arrivals over two Mondays; handled 4, 6, 8, 10, 12 and 20 minutes: a mean of 10.
    assert (monday_nine["arrivals_per_hour"], monday_nine["handle_minutes"]) == (3.0, 10.0)
    # A = 3 x 10 / 60 = 0.5 Erlang. One agent: C = A = 0.5, service level 1 - 0.5 e^(-0.5/10) = 0.52.
    # Two: B = 1/13, C = 2B / (2 - 0.5 (1 - B)) = 0.1, service level 1 - 0.1 e^(-1.5/10) = 0.91.
    assert monday_nine["agents_needed"] == 2
    # Sam and Edith worked in week 1, Sam alone in week 2.
    assert monday_nine["agents_worked"] == 1.5


def test_a_generous_target_needs_fewer_agents(history, editor_client):
    # One agent with a 60-minute target: 1 - 0.5 e^(-0.5 x 60 / 10) = 0.975.
    assert hour(staffing(editor_client, brand="acme-air", target_minutes=60), 0, 9)["agents_needed"] == 1


def test_a_quiet_hour_takes_the_periods_handling_time(history, editor_client):
    body = staffing(editor_client, brand="acme-air")
    tuesday_two = hour(body, 1, 14)

    # Seven mentions were timed in the period: (4 + 6 + 8 + 10 + 12 + 20 + 30) / 7 = 12.86 minutes.
    assert body["inputs"]["mean_handle_minutes"] == 12.86
    assert (tuesday_two["arrivals_per_hour"], tuesday_two["handle_minutes"]) == (0.5, 12.86)
    assert (tuesday_two["agents_needed"], tuesday_two["agents_worked"]) == (1, 0.5)
    assert hour(body, 2, 9) == {
        **hour(body, 2, 9),
        "arrivals_per_hour": 0.0,
        "agents_needed": 0,
        "agents_worked": 0.0,
    }


def test_per_agent_figures(history, editor_client):
    agents = {item["username"]: item for item in staffing(editor_client, brand="acme-air")["agents"]}

    sam, edith = agents["sam"], agents["edith"]
    # Sam answered five: 5, 18, 12, 22 and 25 minutes after arrival; handled 4, 8, 10, 12, 20.
    assert (sam["answered"], sam["dismissed"]) == (5, 1)
    assert (sam["median_first_response_minutes"], sam["median_handle_minutes"]) == (18.0, 10.0)
    assert (sam["drafts_accepted"], sam["drafts_edited"], sam["acceptance_rate"]) == (2, 1, 0.6667)
    # Edith answered two, 8 and 35 minutes after arrival, handled in 6 and 30.
    assert (edith["answered"], edith["median_first_response_minutes"], edith["median_handle_minutes"]) == (
        2,
        21.5,
        18.0,
    )
    assert (edith["drafts_accepted"], edith["drafts_edited"], edith["acceptance_rate"]) == (0, 1, 0.0)


def test_handling_per_issue(history, editor_client):
    issues = {item["issue"]: item for item in staffing(editor_client, brand="acme-air")["issues"]}

    assert (issues["baggage"]["timed"], issues["baggage"]["median_handle_minutes"]) == (6, 9.0)
    assert (issues["delay"]["timed"], issues["delay"]["median_handle_minutes"]) == (1, 30.0)


def test_the_inputs_are_shown(history, editor_client):
    inputs = staffing(editor_client, brand="acme-air", target_minutes=15, service_level=0.9)["inputs"]

    assert {
        key: inputs[key] for key in ("brand", "target_minutes", "service_level", "arrivals", "timed")
    } == {
        "brand": "acme-air",
        "target_minutes": 15.0,
        "service_level": 0.9,
        "arrivals": 8,
        "timed": 7,
    }


def test_every_brand_counts_when_none_is_named(history, editor_client):
    assert hour(staffing(editor_client), 0, 9)["arrivals_per_hour"] == 3.5


def lead_of(brand):
    lead = UserFactory(is_staff=True)
    lead.groups.add(Group.objects.get(name="Editors"))
    brand.members.add(lead)
    return lead


def test_a_lead_of_one_brand_sees_only_that_brand(history):
    client = api_client_for(lead_of(BrandFactory._meta.model.objects.get(key="globex")))

    body = staffing(client)

    assert body["inputs"]["brand"] == "globex"
    assert hour(body, 0, 9)["arrivals_per_hour"] == 0.5
    refused = client.get(STAFFING, {**PERIOD, "brand": "acme-air"})
    assert refused.status_code == 400
    assert "brand" in refused.json()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"service_level": "1.5"}, "service_level"),
        ({"service_level": "0"}, "service_level"),
        ({"service_level": "most"}, "service_level"),
        ({"target_minutes": "-5"}, "target_minutes"),
        ({"target_minutes": "soon"}, "target_minutes"),
        ({"brand": "nobody"}, "brand"),
        ({"since": "2026-11-20", "until": "2026-11-01"}, "since"),
        ({"until": "1999-01-01"}, "until"),
    ],
)
def test_bad_input_is_refused_naming_the_field(editor_client, params, field):
    answer = editor_client.get(STAFFING, params)

    assert answer.status_code == 400
    assert field in answer.json()


def test_agents_and_strangers_do_not_see_staffing(agent_client, anonymous_client):
    assert agent_client.get(STAFFING).status_code == 403
    assert anonymous_client.get(STAFFING).status_code in (401, 403)


def test_the_admin_page_shows_the_heatmap_inputs_and_agents(history, client, editor):
    client.force_login(editor)

    page = client.get("/admin/insights/staffing/", {**PERIOD, "brand": "acme-air", "target_minutes": 1})

    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="staffing-heatmap"' in html
    assert "Monday 09:00: 3.0 per hour, 2 agents needed" in html
    assert "12.9 min" in html and "Sam Lee" in html


def test_the_admin_page_shows_bad_input_on_the_form(client, editor):
    client.force_login(editor)

    page = client.get("/admin/insights/staffing/", {"service_level": "2"})

    assert page.status_code == 200
    assert "service_level: Must be a share between 0 and 1" in page.content.decode()
