"""The library over REST: brands, issues (examples and responses nested), responses, examples."""

from __future__ import annotations

import pytest

from kb import services
from kb.models import Brand, Example, Issue, Response
from suggestions.indexing import active_version

LONG_ENOUGH = {"text": "my flight got cancelled and nobody can rebook me", "channel": "twitter", "limit": 10}


def suggested_responses(client) -> list[str]:
    body = client.post("/api/v1/suggestions/", LONG_ENOUGH, format="json").json()
    return [item["response"] for item in body["suggestions"]]


@pytest.fixture
def answer_everything(settings):
    settings.CARELINE_ABSTAIN_THRESHOLD = 0.0


# ---- reading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["brands", "issues", "responses", "examples"])
def test_lists_are_paginated(library, agent_client, resource):
    body = agent_client.get(f"/api/v1/{resource}/", {"limit": 1}).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] >= 2
    assert len(body["results"]) == 1
    assert body["next"] is not None and body["previous"] is None
    assert agent_client.get(body["next"]).json()["previous"] is not None


def test_every_object_carries_its_id_and_key_and_is_found_at_its_url(library, agent_client):
    for resource, key in (
        ("brands", "acme-air"),
        ("issues", "lost-baggage"),
        ("responses", "lost-baggage-dm"),
    ):
        found = agent_client.get(f"/api/v1/{resource}/", {"key": key}).json()
        assert found["count"] == 1
        item = found["results"][0]
        assert item["key"] == key
        assert agent_client.get(f"/api/v1/{resource}/{item['id']}/").json() == item


def test_responses_filter_by_issue_status_and_channel(library, agent_client):
    def keys(**params):
        return [item["key"] for item in agent_client.get("/api/v1/responses/", params).json()["results"]]

    assert keys(issue="lost-baggage") == ["lost-baggage-any", "lost-baggage-dm"]
    assert keys(issue="lost-baggage", channel="twitter") == ["lost-baggage-dm"]
    assert keys(status="draft") == ["onboard-wifi-draft"]
    assert keys(channel="email") == ["refund-receipt-email"]
    assert keys(issue="no-such-issue") == []


def test_unknown_filter_choice_is_400(library, agent_client):
    answer = agent_client.get("/api/v1/responses/", {"status": "published"})

    assert answer.status_code == 400
    assert "status" in answer.json()


def test_issues_filter_by_brand_and_tag(library, agent_client):
    globex = agent_client.get("/api/v1/issues/", {"brand": "globex-bank"}).json()
    tagged = agent_client.get("/api/v1/issues/", {"tag": "rebooking"}).json()

    assert [item["key"] for item in globex["results"]] == ["card-declined"]
    assert [item["key"] for item in tagged["results"]] == ["cancelled-flight"]


def test_issue_detail_nests_its_live_examples_and_all_its_responses(library, agent_client):
    issue = library.issues["lost-baggage"]
    retired = library.examples["still waiting for my delayed suitcase three days later"]
    services.example_retire(example=retired)

    body = agent_client.get(f"/api/v1/issues/{issue.pk}/").json()

    assert body["brand"] == "acme-air"
    assert body["tags"] == ["baggage"]
    assert body["private_channel"] is True and body["active"] is True
    assert [item["text"] for item in body["examples"]] == [
        "my checked suitcase never showed up on the baggage carousel",
        "the airline lost my luggage on the connecting flight",
        "baggage claim says my bag is missing and nobody knows where it is",
    ]
    assert {item["key"] for item in body["responses"]} == {"lost-baggage-dm", "lost-baggage-any"}
    assert "issue" not in body["responses"][0]
    assert body["responses"][0]["sample"]["fits_channel"] is True


# ---- writing ----------------------------------------------------------------------------------


def test_issue_create_with_tags_goes_through_the_services(library, editor_client, editor):
    answer = editor_client.post(
        "/api/v1/issues/",
        {
            "key": "seat-change",
            "brand": "acme-air",
            "title": "Customer wants another seat",
            "tags": ["Seats", "upsell", "seats"],
        },
        format="json",
    )

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["tags"] == ["seats", "upsell"]
    assert (body["examples"], body["responses"], body["active"]) == ([], [], True)
    issue = Issue.objects.get(key="seat-change")
    assert issue.created_by == editor
    assert issue.history.first().history_user == editor


def test_issue_create_with_a_bad_tag_or_a_taken_key_is_400(library, editor_client):
    bad_tag = editor_client.post(
        "/api/v1/issues/", {"key": "seat-change", "title": "Seat", "tags": ["not a tag!"]}, format="json"
    )
    taken = editor_client.post("/api/v1/issues/", {"key": "lost-baggage", "title": "Again"}, format="json")

    assert bad_tag.status_code == 400 and "tags" in bad_tag.json()
    assert taken.status_code == 400 and "key" in taken.json()


def test_issue_put_and_patch_update_fields_and_tags(library, editor_client):
    issue = library.issues["password-reset"]
    url = f"/api/v1/issues/{issue.pk}/"
    current = editor_client.get(url).json()

    put = editor_client.put(
        url, {**current, "title": "Password reset fails", "tags": ["accounts"]}, format="json"
    )
    patch = editor_client.patch(url, {"brand": "globex-bank"}, format="json")

    assert put.status_code == 200, put.json()
    assert patch.status_code == 200, patch.json()
    issue.refresh_from_db()
    assert issue.title == "Password reset fails"
    assert issue.brand.key == "globex-bank"
    assert list(issue.tags.values_list("name", flat=True)) == ["accounts"]


def test_response_created_in_review_and_approved_by_an_editor_is_suggested(
    library, editor_client, agent_client
):
    answer = editor_client.post(
        "/api/v1/responses/",
        {
            "key": "cancelled-flight-twitter",
            "issue": "cancelled-flight",
            "channel": "twitter",
            "status": "in_review",
            "text": "So sorry {{ customer_name|default:'there' }}! DM us to rebook. ^{{ agent_initials }}",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    approved = editor_client.patch(
        f"/api/v1/responses/{answer.json()['id']}/", {"status": "approved"}, format="json"
    )

    assert (approved.json()["status"], approved.json()["approved_by"]) == ("approved", "edith")
    assert suggested_responses(agent_client)[0] == "cancelled-flight-twitter"


def test_author_may_write_a_draft_but_not_approve(library, author_client):
    draft = author_client.post(
        "/api/v1/responses/",
        {"key": "wifi-sorry", "issue": "onboard-wifi", "text": "Sorry about the wifi!"},
        format="json",
    )
    approved = author_client.post(
        "/api/v1/responses/",
        {"key": "wifi-approved", "issue": "onboard-wifi", "text": "Sorry!", "status": "approved"},
        format="json",
    )

    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    assert draft.json()["created_by"] == "arthur"
    assert approved.status_code == 400 and "status" in approved.json()
    assert not Response.objects.filter(key="wifi-approved").exists()


def test_author_cannot_approve_a_response_in_review(library, author_client, editor_client):
    draft = library.responses["onboard-wifi-draft"]
    url = f"/api/v1/responses/{draft.pk}/"
    assert author_client.patch(url, {"status": "in_review"}, format="json").status_code == 200

    by_author = author_client.patch(url, {"status": "approved"}, format="json")
    by_editor = editor_client.patch(url, {"status": "approved"}, format="json")

    assert by_author.status_code == 403
    assert by_editor.status_code == 200
    assert (by_editor.json()["status"], by_editor.json()["approved_by"]) == ("approved", "edith")


def test_approving_a_draft_skips_review_and_is_400_saying_so(library, editor_client):
    draft = library.responses["onboard-wifi-draft"]

    answer = editor_client.patch(f"/api/v1/responses/{draft.pk}/", {"status": "approved"}, format="json")

    assert answer.status_code == 400
    assert answer.json() == {
        "status": ["onboard-wifi-draft: cannot go from draft to approved. Submit it for review first."]
    }
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_response_retired_by_patch_is_never_suggested_again_immediately(library, editor_client, agent_client):
    response = library.responses["cancelled-flight-any"]
    assert suggested_responses(agent_client)[0] == "cancelled-flight-any"

    answer = editor_client.patch(f"/api/v1/responses/{response.pk}/", {"status": "retired"}, format="json")

    assert answer.status_code == 200
    assert answer.json()["status"] == "retired"
    # The test's transaction never commits, so no sync ran: the query-time check alone keeps it out.
    assert active_version() == library.version
    assert "cancelled-flight-any" not in suggested_responses(agent_client)


def test_committed_retirement_takes_the_issue_out_of_the_index(
    library, editor_client, agent_client, answer_everything, django_capture_on_commit_callbacks
):
    response = library.responses["cancelled-flight-any"]

    with django_capture_on_commit_callbacks(execute=True):
        editor_client.patch(f"/api/v1/responses/{response.pk}/", {"status": "retired"}, format="json")

    version = active_version()
    assert version != library.version
    assert (version.added, version.removed) == (0, 4)
    assert "cancelled-flight-any" not in suggested_responses(agent_client)


def test_author_editing_an_approved_reply_sends_it_back_to_review(library, author_client, agent_client):
    response = library.responses["cancelled-flight-any"]
    url = f"/api/v1/responses/{response.pk}/"
    current = author_client.get(url).json()

    answer = author_client.put(url, {**current, "text": current["text"] + " Thanks!"}, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "in_review"
    assert "cancelled-flight-any" not in suggested_responses(agent_client)


def test_editor_editing_an_approved_reply_keeps_it_approved_with_the_new_words(
    library, editor_client, agent_client
):
    response = library.responses["cancelled-flight-any"]

    answer = editor_client.patch(
        f"/api/v1/responses/{response.pk}/",
        {"text": "So sorry {{ customer_name|default:'there' }}, DM us to rebook. ^{{ agent_initials }}"},
        format="json",
    )

    assert answer.json()["status"] == "approved"
    body = agent_client.post("/api/v1/suggestions/", LONG_ENOUGH, format="json").json()
    assert body["suggestions"][0]["text"] == "So sorry there, DM us to rebook. ^SL"


@pytest.mark.parametrize(
    "text, message",
    [
        ("Hi {{ order_id }}, sorry!", "Unknown template variable: order_id"),
        ("Hi {{ customer_name ", "does not parse"),
        ("{% load static %}Hi", "does not parse"),
    ],
)
def test_response_template_that_is_not_allowed_is_400_naming_the_text(library, editor_client, text, message):
    answer = editor_client.post(
        "/api/v1/responses/",
        {"key": "bad-template", "issue": "cancelled-flight", "text": text},
        format="json",
    )

    assert answer.status_code == 400
    assert message in " ".join(answer.json()["text"])
    assert not Response.objects.filter(key="bad-template").exists()


def test_example_created_and_committed_is_matched_by_the_engine(
    library, author_client, agent_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = author_client.post(
            "/api/v1/examples/",
            {"issue": "password-reset", "text": "  two factor code never comes by sms  "},
            format="json",
        )

    assert answer.status_code == 201, answer.json()
    assert answer.json()["text"] == "two factor code never comes by sms"
    body = agent_client.post(
        "/api/v1/suggestions/", {"text": "two factor code never comes by sms"}, format="json"
    )
    best = body.json()["suggestions"][0]
    assert (best["response"], best["matched_example"]) == (
        "password-reset-any",
        "two factor code never comes by sms",
    )


# ---- deleting retires -------------------------------------------------------------------------


def test_deleting_an_issue_retires_it(library, editor_client, agent_client, answer_everything):
    issue = library.issues["cancelled-flight"]

    answer = editor_client.delete(f"/api/v1/issues/{issue.pk}/")

    assert answer.status_code == 204
    assert editor_client.get(f"/api/v1/issues/{issue.pk}/").json()["active"] is False
    assert Issue.objects.filter(pk=issue.pk, is_active=False).exists()
    assert "cancelled-flight-any" not in suggested_responses(agent_client)


def test_deleting_a_response_retires_it(library, editor_client, agent_client):
    response = library.responses["cancelled-flight-any"]

    assert editor_client.delete(f"/api/v1/responses/{response.pk}/").status_code == 204
    assert editor_client.delete(f"/api/v1/responses/{response.pk}/").status_code == 204  # again: no harm

    assert Response.objects.get(pk=response.pk).status == "retired"
    assert "cancelled-flight-any" not in suggested_responses(agent_client)


def test_deleting_an_example_retires_it_and_hides_it_from_the_issue(library, editor_client):
    example = library.examples["cancelled again, what now??"]

    assert editor_client.delete(f"/api/v1/examples/{example.pk}/").status_code == 204

    assert Example.objects.get(pk=example.pk).status == "retired"
    nested = editor_client.get(f"/api/v1/issues/{example.issue_id}/").json()["examples"]
    assert "cancelled again, what now??" not in [item["text"] for item in nested]


def test_deleting_a_brand_that_has_issues_is_409(library, editor_client):
    brand = library.brands["globex-bank"]

    answer = editor_client.delete(f"/api/v1/brands/{brand.pk}/")

    assert answer.status_code == 409
    assert "globex-bank" in answer.json()["detail"]
    assert Brand.objects.filter(pk=brand.pk).exists()


def test_deleting_a_brand_without_issues_removes_it(library, editor_client):
    created = editor_client.post(
        "/api/v1/brands/", {"key": "initech", "name": "Initech", "handle": "@Initech"}, format="json"
    )
    assert created.status_code == 201, created.json()

    assert editor_client.delete(f"/api/v1/brands/{created.json()['id']}/").status_code == 204
    assert not Brand.objects.filter(key="initech").exists()


def test_brand_with_a_bad_handle_is_400(library, editor_client):
    answer = editor_client.post(
        "/api/v1/brands/", {"key": "initech", "name": "Initech", "handle": "Initech Corp"}, format="json"
    )

    assert answer.status_code == 400
    assert "handle" in answer.json()


# ---- permissions ------------------------------------------------------------------------------


def test_agent_reads_and_suggests_but_may_not_write(library, agent_client):
    issue = library.issues["lost-baggage"]
    response = library.responses["lost-baggage-dm"]

    assert agent_client.get("/api/v1/issues/").status_code == 200
    assert agent_client.get(f"/api/v1/responses/{response.pk}/").status_code == 200
    assert (
        agent_client.post("/api/v1/suggestions/", {"text": "lost luggage"}, format="json").status_code == 200
    )
    writes = [
        agent_client.post("/api/v1/issues/", {"key": "x", "title": "X"}, format="json"),
        agent_client.patch(f"/api/v1/issues/{issue.pk}/", {"title": "X"}, format="json"),
        agent_client.put(
            f"/api/v1/brands/{issue.brand_id}/", {"key": "x", "name": "X", "handle": "@x"}, format="json"
        ),
        agent_client.patch(f"/api/v1/responses/{response.pk}/", {"status": "retired"}, format="json"),
        agent_client.delete(f"/api/v1/responses/{response.pk}/"),
        agent_client.delete(f"/api/v1/issues/{issue.pk}/"),
        agent_client.post("/api/v1/examples/", {"issue": "lost-baggage", "text": "bag gone"}, format="json"),
    ]
    assert [answer.status_code for answer in writes] == [403] * len(writes)
    response.refresh_from_db()
    issue.refresh_from_db()
    assert (response.status, issue.title, issue.is_active) == (
        "approved",
        library.issues["lost-baggage"].title,
        True,
    )


def test_author_may_not_change_brands(library, author_client):
    brand = library.brands["acme-air"]

    assert (
        author_client.patch(f"/api/v1/brands/{brand.pk}/", {"name": "Acme"}, format="json").status_code == 403
    )


def test_library_is_not_readable_without_authentication(library, anonymous_client):
    assert anonymous_client.get("/api/v1/issues/").status_code == 401
    assert (
        anonymous_client.post("/api/v1/issues/", {"key": "x", "title": "X"}, format="json").status_code == 401
    )


@pytest.mark.parametrize("path", ["/api/v1/issues/", "/api/v1/responses/"])
def test_listing_by_an_unknown_brand_is_refused_naming_it(library, agent_client, path):
    answer = agent_client.get(path, {"brand": "nope"})

    assert answer.status_code == 400
    assert answer.json() == {"brand": ["Unknown brand 'nope'."]}


@pytest.mark.parametrize(
    ("path", "search", "found"),
    [
        ("/api/v1/issues/", "lost-bag", {"lost-baggage"}),  # the key
        ("/api/v1/issues/", "REBOOKING", {"cancelled-flight"}),  # the title, any case
        ("/api/v1/issues/", "carousel", {"lost-baggage"}),  # an example
        ("/api/v1/issues/", "trace it", {"lost-baggage"}),  # a response's text
        ("/api/v1/issues/", "declined", {"card-declined"}),  # title and examples: listed once
        ("/api/v1/responses/", "trace", {"lost-baggage-dm", "lost-baggage-any"}),
        ("/api/v1/responses/", "card-declined", {"card-declined-twitter"}),
        ("/api/v1/examples/", "supermarket", {"my debit card keeps getting declined at the supermarket"}),
        ("/api/v1/issues/", "no such words anywhere", set()),
    ],
)
def test_the_library_is_searched_by_key_title_examples_and_response_text(
    library, editor_client, path, search, found
):
    results = editor_client.get(path, {"search": search, "limit": 100}).json()["results"]

    names = [row.get("key", row.get("text")) for row in results]
    assert sorted(names) == sorted(found)
