"""Response targets over REST: leads read and write them, refusals name their field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group

from console.models import Mention, ResponseTarget
from tests.engine_fixtures import api_client_for
from tests.factories import BrandFactory, UserFactory

pytestmark = pytest.mark.django_db

TARGETS = "/api/v1/response-targets/"
SATURDAY_NOON = datetime(2026, 3, 7, 12, tzinfo=UTC)


@pytest.fixture
def acme():
    return BrandFactory(key="acme-air", name="Acme Air", handle="@AcmeAir")


@pytest.fixture
def globex():
    return BrandFactory(key="globex", name="Globex", handle="@Globex")


def test_a_lead_creates_reads_changes_and_deletes_a_target(
    editor_client, acme, django_capture_on_commit_callbacks
):
    waiting = Mention.objects.create(
        text="where is my bag", brand=acme, channel="twitter", external_id="1", received_at=SATURDAY_NOON
    )
    body = {
        "brand": "acme-air",
        "channel": "twitter",
        "first_response_minutes": 30,
        "weekdays": "01234",
        "opens_at": "09:00",
        "closes_at": "17:00",
        "time_zone": "UTC",
    }
    with django_capture_on_commit_callbacks(execute=True):
        created = editor_client.post(TARGETS, body, format="json")
    assert created.status_code == 201, created.content
    waiting.refresh_from_db()
    assert waiting.due_at == datetime(2026, 3, 9, 9, 30, tzinfo=UTC)

    url = f"{TARGETS}{created.json()['id']}/"
    assert editor_client.get(TARGETS).json()["results"][0]["brand"] == "acme-air"
    changed = editor_client.patch(url, {"first_response_minutes": 15}, format="json")
    assert changed.status_code == 200 and changed.json()["first_response_minutes"] == 15
    with django_capture_on_commit_callbacks(execute=True):
        assert editor_client.delete(url).status_code == 204
    waiting.refresh_from_db()
    assert waiting.due_at == SATURDAY_NOON + timedelta(minutes=60)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"opens_at": "09:00"}, "closes_at"),
        ({"weekdays": "0018"}, "weekdays"),
        ({"channel": "pigeon"}, "channel"),
        ({"brand": "nobody"}, "brand"),
        ({"first_response_minutes": -5}, "first_response_minutes"),
    ],
)
def test_a_bad_target_is_a_400_naming_the_field(editor_client, body, field):
    answer = editor_client.post(
        TARGETS, {"channel": "twitter", "first_response_minutes": 30} | body, format="json"
    )

    assert answer.status_code == 400
    assert field in answer.json()


def test_a_second_target_for_the_same_scope_is_a_400_not_a_500(editor_client, acme):
    ResponseTarget.objects.create(brand=acme, channel="twitter", first_response_minutes=60)
    ResponseTarget.objects.create(brand=None, channel="twitter", first_response_minutes=60)

    for brand in ("acme-air", None):
        answer = editor_client.post(
            TARGETS, {"brand": brand, "channel": "twitter", "first_response_minutes": 30}, format="json"
        )
        assert answer.status_code == 400
        assert "already a target" in answer.json()["channel"][0]


def test_agents_may_not_read_targets(agent_client):
    assert agent_client.get(TARGETS).status_code == 403


def test_a_lead_of_one_brand_writes_only_that_brands_targets(acme, globex):
    lead = UserFactory(username="lena")
    lead.groups.add(Group.objects.get(name="Editors"))
    acme.members.add(lead)
    client = api_client_for(lead)
    theirs = ResponseTarget.objects.create(brand=globex, channel="twitter", first_response_minutes=60)
    shared = ResponseTarget.objects.create(brand=None, channel="", first_response_minutes=60)

    listed = {item["id"] for item in client.get(TARGETS).json()["results"]}
    assert listed == {shared.pk}
    assert client.get(f"{TARGETS}{theirs.pk}/").status_code == 404
    refused = client.post(
        TARGETS, {"brand": "globex", "channel": "facebook", "first_response_minutes": 5}, format="json"
    )
    assert refused.status_code == 400 and "brand" in refused.json()
    assert (
        client.patch(f"{TARGETS}{shared.pk}/", {"first_response_minutes": 5}, format="json").status_code
        == 403
    )
    assert client.delete(f"{TARGETS}{shared.pk}/").status_code == 403
    own = client.post(
        TARGETS, {"brand": "acme-air", "channel": "facebook", "first_response_minutes": 5}, format="json"
    )
    assert own.status_code == 201
