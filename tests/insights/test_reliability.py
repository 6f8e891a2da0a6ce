"""The reliability of the engine's confidence for editors: GET /api/v1/analytics/reliability/ and
/admin/insights/reliability/ (predicted against observed acceptance in 10 bins, and the ECE)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from suggestions.models import Feedback, Recalibration
from tests.factories import (
    BrandFactory,
    FeedbackFactory,
    IssueFactory,
    ResponseFactory,
    request_with_suggestions,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/analytics/reliability/"
PAGE = "/admin/insights/reliability/"


@pytest.fixture
def verdicts():
    """Yesterday on Acme Air: four top suggestions at 0.85 (three sent), two at 0.25 (none sent);
    one at 0.55 nobody judged; and one on Globex at 0.95, sent."""
    yesterday = timezone.now() - timedelta(days=1)
    acme, globex = BrandFactory(key="acme-air"), BrandFactory(key="globex-bank", name="Globex Bank")
    bag, other = ResponseFactory(issue=IssueFactory()), ResponseFactory(issue=IssueFactory())
    for confidence, action, brand in [
        (0.85, Feedback.Action.ACCEPTED, acme),
        (0.85, Feedback.Action.EDITED, acme),
        (0.85, Feedback.Action.ACCEPTED, acme),
        (0.85, Feedback.Action.REJECTED, acme),
        (0.25, Feedback.Action.REJECTED, acme),
        (0.25, None, acme),  # the agent sent the second draft instead
        (0.95, Feedback.Action.ACCEPTED, globex),
    ]:
        request = request_with_suggestions(
            [bag, other], confidence=confidence, brand=brand, created_at=yesterday
        )
        if action is None:
            FeedbackFactory(request=request, response=other, action=Feedback.Action.ACCEPTED)
        else:
            FeedbackFactory(request=request, response=bag, action=action)
    request_with_suggestions([bag, other], confidence=0.55, brand=acme, created_at=yesterday)


def test_bins_give_mean_confidence_observed_acceptance_and_count_with_the_ece(verdicts, editor_client):
    body = editor_client.get(URL, {"brand": "acme-air"}).json()

    assert body["verdicts"] == 6
    assert len(body["bins"]) == 10
    filled = [b for b in body["bins"] if b["count"]]
    assert [(b["lower"], b["mean_confidence"], b["observed"], b["count"]) for b in filled] == [
        (0.2, 0.25, 0.0, 2),
        (0.8, 0.85, 0.75, 4),
    ]
    assert body["bins"][0] == {
        "lower": 0.0,
        "upper": 0.1,
        "mean_confidence": None,
        "observed": None,
        "count": 0,
    }
    # (2 * 0.25 + 4 * 0.10) / 6
    assert body["ece"] == pytest.approx(0.15)
    assert body["recalibration"] is None
    assert body["filters"]["brand"] == "acme-air"


def test_every_brand_counts_by_default_and_the_period_narrows(verdicts, editor_client):
    assert editor_client.get(URL).json()["verdicts"] == 7
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    empty = editor_client.get(URL, {"since": tomorrow, "until": tomorrow}).json()
    assert (empty["verdicts"], empty["ece"]) == (0, None)


def test_the_recalibration_in_force_is_shown(verdicts, editor_client):
    Recalibration.objects.create(
        knots={"raw": [0.0, 0.5, 1.0], "served": [0.0, 0.7, 1.0]},
        verdicts=240,
        holdout=48,
        ece=0.04,
        ece_before=0.3,
        newest_verdict_at=timezone.now(),
    )
    fit = editor_client.get(URL).json()["recalibration"]
    assert (fit["verdicts"], fit["holdout"], fit["ece"], fit["ece_before"]) == (240, 48, 0.04, 0.3)


def test_agents_and_anonymous_callers_are_refused(verdicts, agent_client, anonymous_client):
    assert agent_client.get(URL).status_code == 403
    assert anonymous_client.get(URL).status_code in (401, 403)


def test_bad_filters_name_the_field(editor_client):
    answer = editor_client.get(URL, {"since": "yesterday"})
    assert answer.status_code == 400
    assert "since" in answer.json()


def test_the_page_draws_the_curve_from_static_files_with_a_table_and_the_ece(verdicts, client, editor):
    client.force_login(editor)
    page = client.get(PAGE, {"brand": "acme-air"})

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="reliability-chart"' in html and 'id="reliability-data"' in html
    assert "insights/vendor/chart.umd.min.js" in html and "insights/reliability.js" in html
    assert "cdn" not in html.lower()
    assert '<strong id="reliability-ece">0.150</strong>' in html
    assert "<td>0.8\u20130.9</td><td>4</td>" in html


def test_the_page_is_for_editors_and_leads(client, agent):
    client.force_login(agent)
    assert client.get(PAGE).status_code in (302, 403)
