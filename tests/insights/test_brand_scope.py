"""Someone who serves particular brands sees only those brands' insights; someone who serves no
brand in particular (and every superuser) sees them all."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from insights.models import GapCluster, GapRun
from kb import services
from kb.selectors import brands_served_by
from tests.engine_fixtures import api_client_for
from tests.factories import BrandFactory, IssueFactory, ResponseFactory, UserFactory, request_with_suggestions

pytestmark = pytest.mark.django_db

SUMMARY = "/api/v1/analytics/summary/"


@pytest.fixture
def brands():
    return {
        "acme": BrandFactory(key="acme-air", name="Acme Air", handle="@AcmeAir"),
        "globex": BrandFactory(key="globex", name="Globex", handle="@Globex"),
    }


def lead_of(*served):
    """An editor (the insights permission) serving ``served``."""
    lead = UserFactory(is_staff=True)
    lead.groups.add(Group.objects.get(name="Editors"))
    for brand in served:
        brand.members.add(lead)
    return lead


@pytest.fixture
def mentions(brands):
    """Two mentions for Acme Air, one for Globex."""
    for brand, count in ((brands["acme"], 2), (brands["globex"], 1)):
        response = ResponseFactory(issue=IssueFactory(brand=brand))
        for _ in range(count):
            request_with_suggestions([response], brand=brand)


def gap_of(brand):
    run = GapRun.objects.create(trigger=GapRun.Trigger.ON_DEMAND, status=GapRun.Status.SUCCEEDED)
    now = timezone.now()
    return GapCluster.objects.create(
        run=run,
        label="gift cards",
        volume=5,
        first_seen=now,
        last_seen=now,
        recent=5,
        previous=0,
        brand=brand,
        channel="twitter",
    )


def test_who_serves_no_brand_and_every_superuser_see_every_brand(brands, editor):
    root = UserFactory(is_superuser=True)
    brands["acme"].members.add(root)

    assert brands_served_by(editor) is None
    assert brands_served_by(root) is None


def test_a_lead_of_one_brand_counts_that_brands_mentions_by_default(brands, mentions):
    client = api_client_for(lead_of(brands["globex"]))

    body = client.get(SUMMARY).json()

    assert (body["filters"]["brand"], body["mentions"]) == ("globex", 1)


def test_an_unscoped_editor_counts_every_brands_mentions(mentions, editor_client):
    body = editor_client.get(SUMMARY).json()

    assert (body["filters"]["brand"], body["mentions"]) == (None, 3)


def test_a_lead_cannot_ask_for_a_brand_they_do_not_serve(brands, mentions):
    client = api_client_for(lead_of(brands["globex"]))

    answer = client.get(SUMMARY, {"brand": "acme-air"})

    assert answer.status_code == 400
    assert answer.json()["brand"] == ["Choose one of the brands you serve: globex."]


def test_a_lead_of_several_brands_names_one(brands, mentions):
    client = api_client_for(lead_of(brands["globex"], brands["acme"]))

    assert client.get(SUMMARY).json()["brand"] == ["Choose one of the brands you serve: acme-air, globex."]
    assert client.get(SUMMARY, {"brand": "acme-air"}).json()["mentions"] == 2


@pytest.mark.parametrize("url", ["/api/v1/library-health/", "/api/v1/common-edits/"])
def test_health_and_edits_are_scoped_the_same_way(brands, url):
    client = api_client_for(lead_of(brands["globex"]))

    assert client.get(url).json()["brand"] == "globex"
    assert client.get(url, {"brand": "acme-air"}).status_code == 400


def test_a_lead_sees_only_their_brands_content_gaps(brands):
    theirs, other = gap_of(brands["globex"]), gap_of(brands["acme"])
    client = api_client_for(lead_of(brands["globex"]))

    listed = client.get("/api/v1/gaps/").json()["results"]

    assert [gap["id"] for gap in listed] == [theirs.pk]
    assert client.get(f"/api/v1/gaps/{other.pk}/").status_code == 404
    assert client.post(f"/api/v1/gaps/{other.pk}/dismiss/").status_code == 404


def test_a_lead_turns_a_gap_into_an_issue_only_for_their_brand(brands):
    gap = gap_of(brands["globex"])
    client = api_client_for(lead_of(brands["globex"]))

    refused = client.post(
        f"/api/v1/gaps/{gap.pk}/convert/",
        {"key": "gift-cards", "title": "Gift cards", "brand": None},
        format="json",
    )
    made = client.post(
        f"/api/v1/gaps/{gap.pk}/convert/", {"key": "gift-cards", "title": "Gift cards"}, format="json"
    )

    assert refused.status_code == 400
    assert refused.json()["brand"] == ["You make issues only for the brands you serve."]
    assert made.status_code == 201, made.content
    assert made.json()["brand"] == "globex"


def test_the_dashboard_offers_a_lead_only_their_brands(brands, mentions, client):
    client.force_login(lead_of(brands["globex"]))

    page = client.get("/admin/insights/analytics/")

    assert page.status_code == 200
    assert "All brands" not in page.text
    assert '<option value="globex" selected>' in page.text
    assert 'value="acme-air"' not in page.text


def test_the_health_page_shows_a_lead_their_first_brand(brands, client):
    client.force_login(lead_of(brands["globex"]))

    page = client.get("/admin/insights/health/")

    assert page.status_code == 200
    assert page.context["report"].brand == "globex"
    assert list(page.context["form"].fields["brand"].queryset) == [brands["globex"]]


def test_an_editor_sets_who_serves_a_brand_in_the_admin(brands, editor, client):
    agent = UserFactory(username="ana")
    client.force_login(editor)
    acme = brands["acme"]

    saved = client.post(
        f"/admin/kb/brand/{acme.pk}/change/",
        {"key": acme.key, "name": acme.name, "handle": acme.handle, "members": [agent.pk]},
    )

    assert saved.status_code == 302, saved.content
    assert list(acme.members.all()) == [agent]
    assert brands_served_by(agent) == [acme]


def test_the_brand_service_replaces_members_only_when_told(brands):
    agent, other = UserFactory(), UserFactory()
    brand = services.brand_create(key="initech", name="Initech", handle="@Initech", members=[agent])

    services.brand_update(brand=brand, name="Initech Ltd")
    assert list(brand.members.all()) == [agent]
    services.brand_update(brand=brand, members=[other])
    assert list(brand.members.all()) == [other]
