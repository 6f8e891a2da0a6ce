"""Content gaps in the admin: the list editors work from, the convert form, dismiss and find now."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from insights.models import GapCluster, GapRun
from kb.models import Issue
from suggestions.embedder import use_embedder
from tests.factories import IssueFactory, UserFactory
from tests.insights.test_gaps_support import PlannedEmbedder, gaps_found

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:insights_gapcluster_changelist")


@pytest.fixture
def found():
    with use_embedder(PlannedEmbedder()) as embedder:
        yield gaps_found(embedder)


@pytest.fixture
def editor_admin(editor) -> Client:
    client = Client()
    client.force_login(editor)
    return client


def convert_url(cluster: GapCluster) -> str:
    return reverse("admin:insights_gapcluster_convert", args=[cluster.pk])


def test_editors_see_open_gaps_with_volume_trend_and_example_mentions(found, editor_admin):
    found.app.status = GapCluster.Status.DISMISSED
    found.app.save()

    page = editor_admin.get(CHANGELIST)

    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [found.refunds]
    html = page.content.decode()
    assert "where is my refund??" in html
    assert "+0 (0 vs 0)" in html
    assert "Find content gaps now" in html


def test_the_insights_gaps_page_leads_to_the_list(found, editor_admin):
    answer = editor_admin.get(reverse("insights:gaps"))

    assert answer.status_code == 302
    assert answer.url == CHANGELIST


def test_staff_without_the_permission_get_403_and_agents_the_login_page(found, agent):
    outsider = Client()
    outsider.force_login(UserFactory(username="staffer", is_staff=True))
    agent_admin = Client()
    agent_admin.force_login(agent)

    assert outsider.get(CHANGELIST).status_code == 403
    assert outsider.get(convert_url(found.app)).status_code == 403
    login = agent_admin.get(CHANGELIST)
    assert login.status_code == 302
    assert reverse("admin:login") in login.url


def test_the_convert_form_is_pre_filled_and_creates_the_issue(found, editor_admin):
    form = editor_admin.get(convert_url(found.app)).context["form"]
    assert form.initial["brand"] == found.app.brand
    assert form.initial["key"].startswith("the-globex-app-logs-me-out")

    answer = editor_admin.post(
        convert_url(found.app), {"key": "app-logout", "title": "App logs out", "brand": found.app.brand.pk}
    )

    issue = Issue.objects.get(key="app-logout")
    assert answer.status_code == 302
    assert answer.url == reverse("admin:kb_issue_change", args=[issue.pk])
    assert (issue.brand, issue.examples.count()) == (found.app.brand, 5)
    found.app.refresh_from_db()
    assert (found.app.status, found.app.issue) == (GapCluster.Status.CONVERTED, issue)


def test_the_convert_form_shows_a_taken_key_on_the_key_field(found, editor_admin):
    IssueFactory(key="app-logout")

    answer = editor_admin.post(convert_url(found.app), {"key": "app-logout", "title": "App logs out"})

    assert answer.status_code == 200
    assert "key" in answer.context["form"].errors
    found.app.refresh_from_db()
    assert found.app.status == GapCluster.Status.OPEN


def test_the_convert_action_opens_the_form_for_one_gap(found, editor_admin):
    answer = editor_admin.post(CHANGELIST, {"action": "convert_selected", "_selected_action": [found.app.pk]})

    assert answer.status_code == 302
    assert answer.url == convert_url(found.app)


def test_the_dismiss_action_sets_gaps_aside(found, editor_admin):
    answer = editor_admin.post(
        CHANGELIST,
        {"action": "dismiss_selected", "_selected_action": [found.app.pk, found.refunds.pk]},
        follow=True,
    )

    assert "2 gap clusters dismissed" in answer.content.decode()
    assert not GapCluster.objects.filter(status=GapCluster.Status.OPEN).exists()


def test_find_now_runs_and_replaces_the_open_gaps(found, editor_admin):
    answer = editor_admin.post(reverse("admin:insights_gapcluster_find"), follow=True)

    run = GapRun.objects.first()
    assert (run.trigger, run.clusters) == (GapRun.Trigger.ON_DEMAND, 2)
    assert "Found 2 gaps in 12 mentions" in answer.content.decode()
    assert set(GapCluster.objects.values_list("run", flat=True)) == {run.pk}


def test_sorting_by_trend_puts_rising_gaps_first(found, editor_admin):
    rising = editor_admin.get(CHANGELIST, {"o": "-3"})

    assert list(rising.context["cl"].result_list) == [found.app, found.refunds]


def test_a_gaps_page_lists_its_mentions(found, editor_admin):
    page = editor_admin.get(reverse("admin:insights_gapcluster_change", args=[found.app.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert all(f"the Globex app logs me out (customer {n})" in html for n in range(5))
    assert "where is my refund" not in html
