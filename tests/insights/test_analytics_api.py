"""GET /api/v1/analytics/…: summary, per-response and per-issue figures as JSON and CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from suggestions.models import Feedback
from tests.factories import (
    BrandFactory,
    FeedbackFactory,
    IssueFactory,
    ResponseFactory,
    request_with_suggestions,
)

pytestmark = pytest.mark.django_db

SUMMARY = "/api/v1/analytics/summary/"
RESPONSES = "/api/v1/analytics/responses/"
ISSUES = "/api/v1/analytics/issues/"
RESPONSES_CSV = "/api/v1/analytics/responses.csv"
ISSUES_CSV = "/api/v1/analytics/issues.csv"
COUNT_COLUMNS = ["suggested", "shown_first", "accepted", "edited", "rejected"]
EVERY_URL = [SUMMARY, RESPONSES, ISSUES, RESPONSES_CSV, ISSUES_CSV]


@pytest.fixture
def traffic(editor):
    """Yesterday, on Acme Air's twitter: three mentions about lost bags (one answered two minutes
    after it arrived, one rejected), one the engine abstained on; and one on Globex's facebook."""
    yesterday = timezone.now() - timedelta(days=1)
    acme, globex = BrandFactory(key="acme-air"), BrandFactory(key="globex-bank", name="Globex Bank")
    bag_dm = ResponseFactory(issue=IssueFactory(key="lost-baggage", title="Lost baggage"), key="bag-dm")
    card = ResponseFactory(issue=IssueFactory(key="card-declined", title="Card declined"), key="card-dm")
    answered = request_with_suggestions(
        [bag_dm],
        brand=acme,
        created_at=yesterday,
        received_at=yesterday - timedelta(minutes=2),
        answered_at=yesterday,
    )
    FeedbackFactory(request=answered, response=bag_dm, action=Feedback.Action.ACCEPTED, given_by=editor)
    rejected = request_with_suggestions([bag_dm], brand=acme, created_at=yesterday)
    FeedbackFactory(request=rejected, response=bag_dm, action=Feedback.Action.REJECTED, given_by=editor)
    request_with_suggestions([bag_dm], brand=acme, created_at=yesterday)
    request_with_suggestions([bag_dm], brand=acme, abstained=True, created_at=yesterday)
    request_with_suggestions([card], brand=globex, channel="facebook", created_at=yesterday)


def csv_rows(answer) -> list[list[str]]:
    return list(csv.reader(io.StringIO(answer.content.decode())))


def test_summary_counts_mentions_abstentions_answers_and_time_to_answer(traffic, editor_client):
    answer = editor_client.get(SUMMARY, {"brand": "acme-air", "bucket": "week"})

    assert answer.status_code == 200
    body = answer.json()
    assert body["filters"]["brand"] == "acme-air" and body["filters"]["bucket"] == "week"
    assert (body["mentions"], body["abstained"], body["answered"]) == (4, 1, 1)
    assert (body["abstained_share"], body["answered_share"]) == (0.25, 0.25)
    assert body["time_to_answer"] == {
        "median_seconds": 120.0,
        "p90_seconds": 120.0,
        "timed": 1,
        "with_received_at": 1,
    }
    assert sum(point["mentions"] for point in body["abstain_rate"]) == 4
    assert sum(point["abstained"] for point in body["abstain_rate"]) == 1


def test_responses_list_each_shown_response_with_its_acceptance(traffic, editor_client):
    body = editor_client.get(RESPONSES).json()

    assert "÷ times the response was shown" in body["acceptance_rate"]
    rows = {row["response"]: row for row in body["results"]}
    assert rows["bag-dm"] == {
        "response": "bag-dm",
        "channel": "twitter",
        "issue": {"key": "lost-baggage", "title": "Lost baggage"},
        "suggested": 3,
        "shown_first": 3,
        "accepted": 1,
        "edited": 0,
        "rejected": 1,
        "acceptance_rate": 0.3333,
    }
    assert rows["card-dm"]["suggested"] == 1


def test_issues_give_a_volume_series_per_issue_and_acceptance_by_issue(traffic, editor_client):
    body = editor_client.get(ISSUES, {"channel": "twitter"}).json()

    assert len(body["periods"]) == 30
    totals = {(series["issue"] or {}).get("key"): series["total"] for series in body["series"]}
    assert totals == {"lost-baggage": 3, None: 1}
    assert body["series"][-1]["abstained"] is True
    assert all(len(series["counts"]) == 30 for series in body["series"])
    assert [(row["issue"]["key"], row["suggested"], row["accepted"]) for row in body["acceptance"]] == [
        ("lost-baggage", 3, 1)
    ]


def test_filters_narrow_every_figure(traffic, editor_client):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()

    assert editor_client.get(SUMMARY, {"channel": "facebook"}).json()["mentions"] == 1
    assert editor_client.get(SUMMARY, {"brand": "globex-bank"}).json()["mentions"] == 1
    assert editor_client.get(SUMMARY, {"since": tomorrow, "until": tomorrow}).json()["mentions"] == 0
    assert (
        editor_client.get(RESPONSES, {"brand": "globex-bank"}).json()["results"][0]["response"] == "card-dm"
    )


def test_no_data_answers_with_zeros_and_empty_lists(editor_client):
    summary = editor_client.get(SUMMARY).json()
    assert (summary["mentions"], summary["abstained_share"], summary["time_to_answer"]["median_seconds"]) == (
        0,
        None,
        None,
    )
    assert editor_client.get(RESPONSES).json()["results"] == []
    issues = editor_client.get(ISSUES).json()
    assert (issues["series"], issues["acceptance"]) == ([], [])


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"brand": "nope"}, "brand", "Unknown brand 'nope'."),
        ({"channel": "pigeon"}, "channel", "not a valid choice"),
        ({"since": "yesterday"}, "since", "wrong format"),
        ({"until": "2024-02-30"}, "until", "wrong format"),
        ({"since": "2024-03-02", "until": "2024-03-01"}, "since", "on or before until"),
        ({"bucket": "month"}, "bucket", "not a valid choice"),
    ],
)
@pytest.mark.parametrize("url", [SUMMARY, RESPONSES_CSV, ISSUES])
def test_bad_parameters_get_a_400_naming_the_field(editor_client, url, params, field, message):
    answer = editor_client.get(url, params)

    assert answer.status_code == 400
    assert message in " ".join(answer.json()[field])


def test_responses_csv_has_a_header_and_a_row_per_response(traffic, editor_client):
    answer = editor_client.get(RESPONSES_CSV, {"brand": "acme-air"})

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    header, *rows = csv_rows(answer)
    assert header[:4] == ["response", "channel", "issue", "issue_title"]
    assert header[-1] == "acceptance_rate"
    assert [dict(zip(header, row, strict=True)) for row in rows] == [
        {
            "response": "bag-dm",
            "channel": "twitter",
            "issue": "lost-baggage",
            "issue_title": "Lost baggage",
            "suggested": "3",
            "shown_first": "3",
            "accepted": "1",
            "edited": "0",
            "rejected": "1",
            "acceptance_rate": "0.3333",
        }
    ]


def test_issues_csv_has_a_row_per_issue_shown(traffic, editor_client):
    header, *rows = csv_rows(editor_client.get(ISSUES_CSV))

    assert header[:2] == ["issue", "issue_title"]
    assert sorted(row[0] for row in rows) == ["card-declined", "lost-baggage"]


def test_an_empty_csv_still_has_its_header(editor_client):
    assert csv_rows(editor_client.get(ISSUES_CSV)) == [
        [
            "issue",
            "issue_title",
            "suggested",
            "shown_first",
            "accepted",
            "edited",
            "rejected",
            "acceptance_rate",
        ]
    ]


@pytest.mark.parametrize("url", EVERY_URL)
def test_agents_may_not_read_analytics(agent_client, url):
    assert agent_client.get(url).status_code == 403


@pytest.mark.parametrize("url", EVERY_URL)
def test_anonymous_callers_must_authenticate(anonymous_client, url):
    assert anonymous_client.get(url).status_code == 401


def test_a_logged_in_editor_may_use_the_session(client, editor):
    client.force_login(editor)

    assert client.get(SUMMARY).status_code == 200
