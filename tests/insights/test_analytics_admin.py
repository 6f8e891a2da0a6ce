"""/admin/insights/analytics/: the dashboard editors and leads read."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from insights.analytics_views import duration_text
from suggestions.models import Feedback
from tests.factories import (
    BrandFactory,
    FeedbackFactory,
    IssueFactory,
    ResponseFactory,
    request_with_suggestions,
)

pytestmark = pytest.mark.django_db

PAGE = "/admin/insights/analytics/"


@pytest.fixture
def editor_browser(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def answered_mention(editor):
    brand = BrandFactory(key="acme-air")
    response = ResponseFactory(issue=IssueFactory(key="lost-baggage", title="Lost baggage"), key="bag-dm")
    sent = timezone.now() - timedelta(hours=1)
    request = request_with_suggestions(
        [response], brand=brand, created_at=sent, received_at=sent - timedelta(minutes=5), answered_at=sent
    )
    FeedbackFactory(request=request, response=response, action=Feedback.Action.ACCEPTED, given_by=editor)
    request_with_suggestions([response], brand=brand, abstained=True, created_at=timezone.now())
    return request


def chart_data(page) -> dict:
    html = page.content.decode()
    start = html.index('<script id="analytics-data" type="application/json">') + len(
        '<script id="analytics-data" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


def test_the_page_is_named_analytics_in_the_insights_namespace():
    assert reverse("insights:analytics") == PAGE


def test_an_editor_sees_figures_charts_and_the_response_table(answered_mention, editor_browser):
    page = editor_browser.get(PAGE, {"brand": "acme-air", "bucket": "week"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Analytics</h1>" in html and "/static/admin/css/base.css" in html  # looks like the admin
    assert page.context["summary"].mentions == 2
    assert html.count("<strong>50%</strong>") == 2  # abstained, and answered
    assert "<strong>5 min</strong>" in html  # median time to answer
    assert "<code>bag-dm</code>" in html and "100%" in html  # shown once, accepted
    assert "Acceptance rate = " in html
    for chart in ("volume-chart", "acceptance-chart", "abstain-chart"):
        assert f'id="{chart}"' in html
    data = chart_data(page)
    assert [series["total"] for series in data["volume"]["series"]] == [1, 1]
    assert data["acceptance"][0]["issue"]["key"] == "lost-baggage"
    assert sum(point["abstained"] for point in data["abstain_rate"]) == 1


def test_the_page_loads_the_vendored_chart_js_not_a_cdn(editor_browser):
    html = editor_browser.get(PAGE).content.decode()

    assert '<script src="/static/insights/vendor/chart.umd.min.js" defer>' in html
    assert 'src="http' not in html and 'href="http' not in html


def test_csv_links_keep_the_filters(answered_mention, editor_browser):
    page = editor_browser.get(PAGE, {"brand": "acme-air", "channel": "twitter", "since": "2024-01-01"})

    for link in (page.context["responses_csv"], page.context["issues_csv"]):
        assert "brand=acme-air" in link and "channel=twitter" in link and "since=2024-01-01" in link
        assert link.replace("&", "&amp;") in page.content.decode()
        assert editor_browser.get(link).status_code == 200


def test_the_filter_form_shows_what_is_selected(answered_mention, editor_browser):
    html = editor_browser.get(PAGE, {"brand": "acme-air", "until": "2024-05-31"}).content.decode()

    assert '<option value="acme-air" selected>' in html
    assert 'name="until" value="2024-05-31"' in html
    assert 'name="since" value="2024-05-02"' in html  # 30 days, until included


def test_with_no_data_the_page_says_so_and_draws_no_chart(editor_browser):
    page = editor_browser.get(PAGE)

    assert page.status_code == 200
    html = page.content.decode()
    assert "No mentions in this period" in html
    assert "No response was shown in this period" in html
    assert "analytics-data" not in html and "<canvas" not in html


def test_when_only_abstentions_the_acceptance_chart_explains_instead(editor_browser):
    response = ResponseFactory(issue=IssueFactory())
    request_with_suggestions([response], abstained=True, created_at=timezone.now())

    html = editor_browser.get(PAGE).content.decode()

    assert 'id="volume-chart"' in html and 'id="acceptance-chart"' not in html
    assert chart_data(editor_browser.get(PAGE))["acceptance"] == []


def test_bad_filters_are_shown_as_errors_per_field(editor_browser):
    page = editor_browser.get(PAGE, {"brand": "nope", "since": "March"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "brand: Unknown brand &#x27;nope&#x27;." in html
    assert "since: Date has wrong format." in html
    assert 'name="since" value="March"' in html  # the form keeps what was typed
    assert "summary" not in page.context


def test_since_after_until_is_explained(editor_browser):
    html = editor_browser.get(PAGE, {"since": "2024-03-02", "until": "2024-03-01"}).content.decode()

    assert "since: Must be on or before until." in html


def test_an_agent_is_sent_to_the_admin_login(client, agent):
    client.force_login(agent)

    answer = client.get(PAGE)

    assert answer.status_code == 302 and "/admin/login/" in answer["Location"]


def test_staff_without_the_permission_are_refused(client, author):
    client.force_login(author)  # staff, writes the library, may not read requests

    assert client.get(PAGE).status_code == 403


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    answer = client.get(PAGE)

    assert answer.status_code == 302 and "/admin/login/" in answer["Location"]


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (None, "—"),
        (timedelta(0), "0 s"),
        (timedelta(seconds=45), "45 s"),
        (timedelta(minutes=2, seconds=30), "2 min 30 s"),
        (timedelta(minutes=12), "12 min"),
        (timedelta(hours=3, minutes=5, seconds=59), "3 h 5 min"),
        (timedelta(days=2, hours=4, minutes=10), "2 d 4 h"),
        (timedelta(days=1, minutes=10), "1 d"),
        (-timedelta(minutes=3), "-3 min"),
    ],
)
def test_waits_read_as_people_say_them(duration, text):
    assert duration_text(duration) == text
