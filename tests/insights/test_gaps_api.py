"""Content gaps over REST: /api/v1/gaps/ and /api/v1/gaps/runs/."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from insights.models import GapCluster, GapRun
from kb.models import Issue
from suggestions.embedder import use_embedder
from tests.engine_fixtures import api_client_for
from tests.factories import IssueFactory, UserFactory
from tests.insights.test_gaps_support import PlannedEmbedder, gaps_found

pytestmark = pytest.mark.django_db


@pytest.fixture
def found():
    with use_embedder(PlannedEmbedder()) as embedder:
        yield gaps_found(embedder)


@pytest.fixture
def lead_client():
    """Reads what the engine was asked (and so the gaps), but may not add issues."""
    lead = UserFactory(username="lena")
    lead.user_permissions.add(Permission.objects.get(codename="view_suggestionrequest"))
    return api_client_for(lead)


def test_editors_list_the_open_gaps_largest_first(found, editor_client):
    found.app.status = GapCluster.Status.DISMISSED
    found.app.save()

    answer = editor_client.get("/api/v1/gaps/")

    assert answer.status_code == 200
    assert answer.json()["count"] == 1
    (gap,) = answer.json()["results"]
    assert (gap["id"], gap["volume"], gap["brand"], gap["label"]) == (
        found.refunds.pk,
        7,
        "acme-air",
        found.refunds.label,
    )


def test_the_list_filters_by_brand_and_orders_rising_first(found, editor_client):
    by_brand = editor_client.get("/api/v1/gaps/", {"brand": "globex-bank"}).json()["results"]
    rising = editor_client.get("/api/v1/gaps/", {"order": "rising"}).json()["results"]
    largest = editor_client.get("/api/v1/gaps/").json()["results"]

    assert [gap["id"] for gap in by_brand] == [found.app.pk]
    assert [gap["id"] for gap in rising] == [found.app.pk, found.refunds.pk]
    assert [gap["id"] for gap in largest] == [found.refunds.pk, found.app.pk]
    assert (rising[0]["recent"], rising[0]["trend"]) == (5, 5)


def test_an_unknown_brand_is_a_400(found, editor_client):
    answer = editor_client.get("/api/v1/gaps/", {"brand": "nope"})

    assert answer.status_code == 400
    assert "brand" in answer.json()


def test_one_gap_shows_its_example_mentions(found, editor_client):
    answer = editor_client.get(f"/api/v1/gaps/{found.refunds.pk}/")

    assert answer.status_code == 200
    examples = answer.json()["examples"]
    assert len(examples) == 5
    # The same words with and without the brand's handle and a link are one example.
    texts = {example["text"] for example in examples}
    assert len(texts & {"@AcmeAir where is my refund?? https://t.co/a1", "where is my refund??"}) == 1
    assert [example["centrality"] for example in examples] == sorted(
        (example["centrality"] for example in examples), reverse=True
    )


def test_convert_makes_the_issue(found, editor_client):
    answer = editor_client.post(
        f"/api/v1/gaps/{found.app.pk}/convert/",
        {"key": "app-logout", "title": "App logs the customer out", "brand": "globex-bank"},
        format="json",
    )

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["key"], body["brand"], len(body["examples"])) == ("app-logout", "globex-bank", 5)
    detail = editor_client.get(f"/api/v1/gaps/{found.app.pk}/").json()
    assert (detail["status"], detail["issue"]) == ("converted", "app-logout")
    assert found.app.pk not in [gap["id"] for gap in editor_client.get("/api/v1/gaps/").json()["results"]]


def test_convert_without_a_brand_uses_the_gaps_and_null_means_every_brand(found, editor_client):
    editor_client.post(
        f"/api/v1/gaps/{found.app.pk}/convert/", {"key": "app-logout", "title": "App"}, format="json"
    )
    editor_client.post(
        f"/api/v1/gaps/{found.refunds.pk}/convert/",
        {"key": "refund-late", "title": "Refund", "brand": None},
        format="json",
    )

    assert Issue.objects.get(key="app-logout").brand.key == "globex-bank"
    assert Issue.objects.get(key="refund-late").brand is None


def test_convert_with_a_taken_key_or_missing_title_is_a_400_per_field(found, editor_client):
    IssueFactory(key="app-logout")

    taken = editor_client.post(
        f"/api/v1/gaps/{found.app.pk}/convert/", {"key": "app-logout", "title": "App"}, format="json"
    )
    untitled = editor_client.post(f"/api/v1/gaps/{found.app.pk}/convert/", {"key": "app-2"}, format="json")

    assert taken.status_code == 400
    assert "key" in taken.json()
    assert untitled.status_code == 400
    assert "title" in untitled.json()
    found.app.refresh_from_db()
    assert found.app.status == GapCluster.Status.OPEN


def test_dismiss_sets_the_gap_aside(found, editor_client):
    answer = editor_client.post(f"/api/v1/gaps/{found.refunds.pk}/dismiss/")
    again = editor_client.post(f"/api/v1/gaps/{found.refunds.pk}/dismiss/")

    assert answer.status_code == 200
    assert answer.json()["status"] == "dismissed"
    assert again.status_code == 400
    assert [gap["id"] for gap in editor_client.get("/api/v1/gaps/").json()["results"]] == [found.app.pk]


def test_find_now_runs_and_reports_the_run(found, editor_client):
    answer = editor_client.post("/api/v1/gaps/runs/")

    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "done"
    assert (body["run"]["trigger"], body["run"]["clusters"], body["run"]["mentions"]) == ("on_demand", 2, 12)
    listed = editor_client.get("/api/v1/gaps/runs/").json()["results"]
    assert listed[0]["id"] == body["run"]["id"]


def test_find_now_while_a_run_is_under_way_is_a_409(found, editor_client):
    busy = GapRun.objects.create(trigger=GapRun.Trigger.SCHEDULE)

    answer = editor_client.post("/api/v1/gaps/runs/")

    assert answer.status_code == 409
    assert answer.json()["run"]["id"] == busy.pk
    assert GapRun.objects.filter(status=GapRun.Status.RUNNING).count() == 1


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/gaps/"),
        ("get", "/api/v1/gaps/{id}/"),
        ("post", "/api/v1/gaps/{id}/convert/"),
        ("post", "/api/v1/gaps/{id}/dismiss/"),
        ("get", "/api/v1/gaps/runs/"),
        ("post", "/api/v1/gaps/runs/"),
    ],
)
def test_agents_get_403_and_strangers_401(found, agent_client, anonymous_client, method, url):
    url = url.format(id=found.app.pk)
    data = {"key": "app-logout", "title": "App"}

    assert getattr(agent_client, method)(url, data, format="json").status_code == 403
    assert getattr(anonymous_client, method)(url, data, format="json").status_code == 401
    assert not Issue.objects.filter(key="app-logout").exists()
    assert GapCluster.objects.filter(status=GapCluster.Status.OPEN).count() == 2


def test_leads_read_the_gaps_but_may_not_act_on_them(found, lead_client):
    assert lead_client.get("/api/v1/gaps/").status_code == 200
    assert lead_client.get(f"/api/v1/gaps/{found.app.pk}/").status_code == 200
    assert lead_client.post(f"/api/v1/gaps/{found.app.pk}/dismiss/").status_code == 403
    assert lead_client.post("/api/v1/gaps/runs/").status_code == 403
