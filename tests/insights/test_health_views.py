"""The library health report and agents' common edits over REST and as admin pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import BrandFactory, IssueFactory, ResponseFactory
from tests.insights.test_edits import SUGGESTED, edited

pytestmark = pytest.mark.django_db

HEALTH_API = "/api/v1/library-health/"
EDITS_API = "/api/v1/common-edits/"


@pytest.fixture
def findings():
    """One of each kind of finding for Acme, and an issue of Globex's."""
    acme = BrandFactory(key="acme-air")
    globex = BrandFactory(key="globex-bank", name="Globex", handle="@Globex")
    issue = IssueFactory(key="twitter-only", brand=acme)
    reply = ResponseFactory(key="expiring-dm", issue=issue, valid_until=timezone.now() + timedelta(days=3))
    ResponseFactory(key="rambling", issue=issue, status="draft", text="sorry " * 60)
    ResponseFactory(key="globex-reply", issue=IssueFactory(key="globex-issue", brand=globex), channel="any")
    for _ in range(3):
        edited(reply, SUGGESTED.replace("DM us", "call us"))
    return reply


@pytest.fixture
def editor_browser(client, editor):
    client.force_login(editor)
    return client


def test_editors_get_the_health_report_as_json(findings, editor_client):
    body = editor_client.get(HEALTH_API, {"brand": "acme-air", "expiring_within": 7}).json()

    assert body["brand"] == "acme-air"
    assert body["conflicts"]["index_version"] is None
    assert "No index" in body["conflicts"]["unavailable"]
    assert [item["issue"]["key"] for item in body["missing_channels"]] == ["twitter-only"]
    assert body["missing_channels"][0]["channels"] == ["facebook", "instagram", "email"]
    assert [item["response"]["key"] for item in body["too_long"]] == ["rambling"]
    assert [item["response"]["key"] for item in body["expiring"]] == ["expiring-dm"]
    assert [item["response"]["key"] for item in body["never_suggested"]] == ["expiring-dm"]
    assert body["rarely_min_shown"] > 0 and 0 < body["rarely_accepted_below"] < 1


def test_editors_get_the_common_edits_as_json(findings, editor_client):
    body = editor_client.get(EDITS_API, {"days": 7}).json()

    [response] = body["responses"]
    assert response["response_key"] == "expiring-dm"
    assert response["common"][0]["removed"] == "DM"
    assert response["common"][0]["added"] == "call"
    assert response["common"][0]["count"] == 3


@pytest.mark.parametrize("url", [HEALTH_API, EDITS_API])
@pytest.mark.parametrize(
    "params",
    [{"brand": "no-such-brand"}, {"days": "thirty"}, {"days": 0}, {"days": 10_000}],
    ids=["unknown-brand", "days-not-a-number", "no-days", "too-many-days"],
)
def test_bad_parameters_are_a_400_naming_the_field(db, editor_client, url, params):
    answer = editor_client.get(url, params)

    assert answer.status_code == 400
    assert set(answer.json()) >= set(params)


def test_expiring_within_must_be_a_positive_number(db, editor_client):
    assert editor_client.get(HEALTH_API, {"expiring_within": -1}).status_code == 400


@pytest.mark.parametrize("url", [HEALTH_API, EDITS_API])
def test_agents_and_strangers_are_refused(db, agent_client, anonymous_client, url):
    assert agent_client.get(url).status_code == 403
    assert anonymous_client.get(url).status_code in (401, 403)


def test_the_health_page_links_each_finding_to_its_admin_page(findings, editor_browser):
    page = editor_browser.get(reverse("insights:health"), {"brand": "acme-air"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "No index is loaded" in html
    assert reverse("admin:kb_issue_change", args=[findings.issue_id]) in html
    assert reverse("admin:kb_response_change", args=[findings.pk]) in html
    assert "globex-issue" not in html
    assert "Library health" in html and 'id="site-name"' in html  # inside the admin's frame


def test_the_edits_page_marks_deletions_and_insertions(findings, editor_browser):
    page = editor_browser.get(reverse("insights:edits"))

    assert page.status_code == 200
    html = page.content.decode()
    assert "<del>DM</del>" in html and "<ins>call</ins>" in html
    assert reverse("admin:kb_response_change", args=[findings.pk]) in html


def test_a_bad_filter_on_a_page_is_shown_not_a_crash(findings, editor_browser):
    page = editor_browser.get(reverse("insights:edits"), {"days": "soon"})

    assert page.status_code == 200
    assert "Enter a whole number" in page.content.decode()


@pytest.mark.parametrize("name", ["insights:health", "insights:edits"])
def test_staff_without_the_insights_permission_get_a_403_and_agents_the_login(client, author, agent, name):
    client.force_login(author)
    assert client.get(reverse(name)).status_code == 403
    client.force_login(agent)
    assert client.get(reverse(name)).status_code == 302  # agents are not staff: the admin login
