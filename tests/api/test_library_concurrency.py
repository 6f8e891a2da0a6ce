"""Library writes over REST, the way HTTP keeps edits from being lost: every object carries its
`version` and an `ETag`; `If-Match` (or `version` in the body) makes a write conditional, and a
stale one is refused naming who changed the object and when. Creation follows the lifecycle, and
a brand is deleted through the services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from console.models import Mention
from kb import services
from kb.models import Brand, Response
from tests.engine_fixtures import api_client_for
from tests.factories import UserFactory

RESPONSES = "/api/v1/responses/"


@pytest.fixture
def olga(db):
    user = UserFactory(username="olga", first_name="Olga", last_name="Other")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def olga_client(olga):
    return api_client_for(olga)


@pytest.fixture
def response(library):
    return library.responses["lost-baggage-dm"]


def url(response: Response) -> str:
    return f"{RESPONSES}{response.pk}/"


def etag(response: Response, version: int) -> str:
    return f'"{response.pk}-{version}"'


def test_objects_carry_their_version_and_an_etag(library, editor_client, response):
    got = editor_client.get(url(response))
    listed = editor_client.get(RESPONSES, {"key": response.key}).json()["results"][0]
    issue = editor_client.get(f"/api/v1/issues/{response.issue_id}/").json()

    assert got.json()["version"] == 1
    assert got.headers["ETag"] == etag(response, 1)
    assert listed["version"] == 1
    assert issue["version"] == 1 and {item["version"] for item in issue["responses"]} == {1}
    brand = library.brands["acme-air"]
    assert editor_client.get(f"/api/v1/brands/{brand.pk}/").headers["ETag"] == f'"{brand.pk}-1"'


def test_a_write_answers_the_new_version_and_etag(library, editor_client, response):
    patched = editor_client.patch(
        url(response), {"language": "de"}, format="json", HTTP_IF_MATCH=etag(response, 1)
    )

    assert patched.status_code == 200, patched.json()
    assert patched.json()["version"] == 2
    assert patched.headers["ETag"] == etag(response, 2)


def test_a_stale_if_match_is_412_naming_who_changed_it_and_when(
    library, editor_client, olga_client, response
):
    assert olga_client.patch(url(response), {"language": "de"}, format="json").status_code == 200

    stale = editor_client.patch(
        url(response), {"channel": "facebook"}, format="json", HTTP_IF_MATCH=etag(response, 1)
    )

    assert stale.status_code == 412
    body = stale.json()
    assert body["version"] == 2
    assert body["changed_by"] == "olga"
    assert body["changed_fields"] == ["language"]
    changed_at = Response.objects.get(pk=response.pk).history.first().history_date
    assert body["changed_at"] == changed_at.isoformat().replace("+00:00", "Z")
    assert "Olga Other changed this response at" in body["detail"]
    assert stale.headers["ETag"] == etag(response, 2)
    stored = Response.objects.get(pk=response.pk)
    assert (stored.channel, stored.language) == ("twitter", "de")


def test_a_stale_put_does_not_overwrite(library, editor_client, olga_client, response):
    drawn = editor_client.get(url(response))
    whole = {key: drawn.json()[key] for key in ("key", "issue", "channel", "text", "language", "status")}
    assert olga_client.patch(url(response), {"text": "Sorry! DM us."}, format="json").status_code == 200

    put = editor_client.put(
        url(response), {**whole, "language": "fr"}, format="json", HTTP_IF_MATCH=drawn.headers["ETag"]
    )

    assert put.status_code == 412
    assert Response.objects.get(pk=response.pk).text == "Sorry! DM us."


def test_a_stale_delete_retires_nothing(library, editor_client, olga_client, response):
    assert olga_client.patch(url(response), {"language": "de"}, format="json").status_code == 200

    deleted = editor_client.delete(url(response), HTTP_IF_MATCH=etag(response, 1))

    assert deleted.status_code == 412
    assert Response.objects.get(pk=response.pk).status == "approved"


def test_an_etag_of_another_object_never_matches(library, editor_client, response):
    other = library.responses["lost-baggage-any"]

    answer = editor_client.patch(
        url(response), {"language": "de"}, format="json", HTTP_IF_MATCH=etag(other, 1)
    )

    assert answer.status_code == 412


def test_a_star_if_match_and_a_weak_etag_are_understood(library, editor_client, response):
    star = editor_client.patch(url(response), {"language": "de"}, format="json", HTTP_IF_MATCH="*")
    weak = editor_client.patch(
        url(response), {"language": "fr"}, format="json", HTTP_IF_MATCH=f"W/{etag(response, 2)}"
    )

    assert (star.status_code, weak.status_code) == (200, 200)


@pytest.mark.parametrize("header", ["1", "version 1", '"1"', '"abc-1"', '"1-2", "1-3"', ""])
def test_a_malformed_if_match_is_400(library, editor_client, response, header):
    answer = editor_client.patch(url(response), {"language": "de"}, format="json", HTTP_IF_MATCH=header)

    assert answer.status_code == 400
    assert "If-Match" in answer.json()["detail"]
    assert Response.objects.get(pk=response.pk).language == "en"


def test_a_stale_version_in_the_body_is_409(library, editor_client, olga_client, response):
    assert olga_client.patch(url(response), {"language": "de"}, format="json").status_code == 200

    stale = editor_client.patch(url(response), {"channel": "facebook", "version": 1}, format="json")
    current = editor_client.patch(url(response), {"channel": "facebook", "version": 2}, format="json")

    assert stale.status_code == 409
    assert stale.json()["version"] == 2 and stale.json()["changed_by"] == "olga"
    assert current.status_code == 200 and current.json()["version"] == 3


def test_writes_without_a_precondition_still_go_through(library, editor_client, olga_client, response):
    assert olga_client.patch(url(response), {"language": "de"}, format="json").status_code == 200

    answer = editor_client.patch(url(response), {"channel": "facebook"}, format="json")

    assert answer.status_code == 200
    stored = Response.objects.get(pk=response.pk)
    assert (stored.channel, stored.language, stored.version) == ("facebook", "de", 3)


def test_a_stale_issue_and_brand_are_refused_too(library, editor_client, olga_client):
    issue = library.issues["lost-baggage"]
    brand = library.brands["globex-bank"]
    assert (
        olga_client.patch(f"/api/v1/issues/{issue.pk}/", {"title": "Bags"}, format="json").status_code == 200
    )
    assert (
        olga_client.patch(f"/api/v1/brands/{brand.pk}/", {"name": "Globex"}, format="json").status_code == 200
    )

    issue_answer = editor_client.patch(
        f"/api/v1/issues/{issue.pk}/", {"title": "Luggage"}, format="json", HTTP_IF_MATCH=f'"{issue.pk}-1"'
    )
    brand_answer = editor_client.patch(
        f"/api/v1/brands/{brand.pk}/",
        {"name": "Globex Bank plc"},
        format="json",
        HTTP_IF_MATCH=f'"{brand.pk}-1"',
    )

    assert (issue_answer.status_code, brand_answer.status_code) == (412, 412)


def test_an_example_carries_its_version_and_refuses_a_stale_write(library, editor_client, olga_client):
    example = library.examples["cancelled again, what now??"]
    path = f"/api/v1/examples/{example.pk}/"
    assert olga_client.patch(path, {"text": "cancelled AGAIN"}, format="json").status_code == 200

    answer = editor_client.patch(
        path, {"text": "cancelled, again"}, format="json", HTTP_IF_MATCH=f'"{example.pk}-1"'
    )

    assert answer.status_code == 412


# ---- creation follows the lifecycle -------------------------------------------------------------------


@pytest.mark.parametrize("status", ["approved", "retired"])
def test_a_response_cannot_be_created_approved_or_retired(library, editor_client, status):
    answer = editor_client.post(
        RESPONSES,
        {"key": "wifi-new", "issue": "onboard-wifi", "text": "Sorry about the wifi!", "status": status},
        format="json",
    )

    assert answer.status_code == 400
    assert "submit it for review" in answer.json()["status"][0]
    assert not Response.objects.filter(key="wifi-new").exists()


def test_a_response_created_in_review_then_approved_goes_through_review(library, editor_client):
    created = editor_client.post(
        RESPONSES,
        {"key": "wifi-new", "issue": "onboard-wifi", "text": "Sorry about the wifi!", "status": "in_review"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.headers["ETag"] == f'"{created.json()["id"]}-1"'

    approved = editor_client.patch(
        f"{RESPONSES}{created.json()['id']}/", {"status": "approved"}, format="json"
    )

    assert approved.status_code == 200
    assert (approved.json()["status"], approved.json()["approved_by"]) == ("approved", "edith")


# ---- deleting a brand -----------------------------------------------------------------------------------


def test_a_member_of_an_empty_brand_cannot_delete_it(library, editor, editor_client):
    empty = services.brand_create(key="initech", name="Initech", handle="@Initech")
    empty.members.add(editor)

    answer = editor_client.delete(f"/api/v1/brands/{empty.pk}/")

    assert answer.status_code == 403
    assert Brand.objects.filter(pk=empty.pk).exists()
    listed = {item["key"] for item in editor_client.get("/api/v1/brands/").json()["results"]}
    assert listed == {"initech"}


def test_a_brand_with_mentions_is_409(library, editor_client):
    quiet = services.brand_create(key="initech", name="Initech", handle="@Initech")
    Mention.objects.create(
        brand=quiet, channel="twitter", external_id="1", text="hi", received_at=timezone.now()
    )

    answer = editor_client.delete(f"/api/v1/brands/{quiet.pk}/")

    assert answer.status_code == 409
    assert "mentions" in answer.json()["detail"]
    assert Brand.objects.filter(pk=quiet.pk).exists()


def test_a_stale_brand_delete_is_412(library, editor_client, olga_client):
    empty = services.brand_create(key="initech", name="Initech", handle="@Initech")
    assert (
        olga_client.patch(f"/api/v1/brands/{empty.pk}/", {"name": "Initech Inc"}, format="json").status_code
        == 200
    )

    answer = editor_client.delete(f"/api/v1/brands/{empty.pk}/", HTTP_IF_MATCH=f'"{empty.pk}-1"')

    assert answer.status_code == 412
    assert Brand.objects.filter(pk=empty.pk).exists()
