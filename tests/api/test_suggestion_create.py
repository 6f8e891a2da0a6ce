"""POST /api/v1/suggestions/ and reading stored requests back."""

from __future__ import annotations

import pytest

from suggestions.embedder import use_embedder
from suggestions.models import ActiveIndex, SuggestionRequest
from tests.fakes import FakeEmbedder

URL = "/api/v1/suggestions/"

CONTRACT_REQUEST = {
    "text": "@AcmeAir my luggage never arrived, the airline lost it!! https://t.co/x1",
    "brand": "acme-air",
    "channel": "twitter",
    "author": {"handle": "@jane", "name": "Jane"},
    "agent": {"name": "Sam Lee", "initials": "SL"},
    "limit": 3,
    "external_id": "1234567890",
}


def post(client, data, **kwargs):
    return client.post(URL, data, format="json", **kwargs)


def test_answer_has_exactly_the_contracts_shape(library, agent_client):
    answer = post(agent_client, CONTRACT_REQUEST)

    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json"
    body = answer.json()
    assert {"id", "abstained", "index_version", "took_ms", "suggestions"} <= set(body)
    assert isinstance(body["id"], int)
    assert body["abstained"] is False
    assert body["index_version"] == library.version.version
    assert isinstance(body["took_ms"], float) and body["took_ms"] > 0
    assert 1 <= len(body["suggestions"]) <= 3
    best = body["suggestions"][0]
    assert {
        "response",
        "issue",
        "text",
        "score",
        "confidence",
        "matched_example",
        "private_channel",
        "length",
        "fits_channel",
    } <= set(best)
    assert best["response"] == "lost-baggage-dm"
    assert best["issue"] == {"key": "lost-baggage", "title": "Checked bag lost or delayed at the airport"}
    assert best["text"] == (
        "Jane, so sorry your bag hasn't arrived. Please DM us your bag tag number and we'll trace it. ^SL"
    )
    assert isinstance(best["score"], float) and 0 < best["score"] <= 1
    assert isinstance(best["confidence"], float) and 0.5 <= best["confidence"] <= 1
    assert best["matched_example"] in library.examples
    assert best["private_channel"] is True
    assert best["length"] == len("@jane " + best["text"])
    assert best["fits_channel"] is True
    issues = [item["issue"]["key"] for item in body["suggestions"]]
    assert len(issues) == len(set(issues))
    scores = [item["score"] for item in body["suggestions"]]
    assert scores == sorted(scores, reverse=True)


def test_only_text_is_required_and_the_reply_is_signed_by_the_requesting_agent(library, agent_client):
    answer = post(agent_client, {"text": "the airline lost my luggage"})

    assert answer.status_code == 200
    body = answer.json()
    assert body["channel"] == "twitter"
    assert body["suggestions"][0]["text"].startswith("Hi there, so sorry your bag")
    assert body["suggestions"][0]["text"].endswith("^SL")  # Sam Lee, who asked


def test_limit_caps_the_suggestions(library, agent_client, settings):
    settings.CARELINE_ABSTAIN_THRESHOLD = 0.0

    one = post(agent_client, {"text": "my bag is lost and my password reset never arrives", "limit": 1})
    many = post(agent_client, {"text": "my bag is lost and my password reset never arrives", "limit": 10})

    assert len(one.json()["suggestions"]) == 1
    assert 2 <= len(many.json()["suggestions"]) <= 10


def test_nothing_fits_abstains_with_no_suggestions(library, agent_client):
    body = post(agent_client, {"text": "what a lovely sunny day for gardening"}).json()

    assert body["abstained"] is True
    assert body["suggestions"] == []


def test_another_brands_issue_is_never_answered(library, agent_client, settings):
    settings.CARELINE_ABSTAIN_THRESHOLD = 0.0

    body = post(
        agent_client, {"text": "my debit card keeps getting declined", "brand": "acme-air", "limit": 10}
    ).json()

    assert "card-declined" not in [item["issue"]["key"] for item in body["suggestions"]]


TOO_LONG = "x" * 5001


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": None}, "text"),
        ({"text": TOO_LONG}, "text"),
        ({"text": 12345}, "text"),
        ({"text": ["my bag is lost"]}, "text"),
        ({"text": {"body": "my bag is lost"}}, "text"),
        ({"text": "my bag is lost", "brand": "nope"}, "brand"),
        ({"text": "my bag is lost", "brand": {"key": "acme-air"}}, "brand"),
        ({"text": "my bag is lost", "channel": "fax"}, "channel"),
        ({"text": "my bag is lost", "limit": 0}, "limit"),
        ({"text": "my bag is lost", "limit": 10_000}, "limit"),
        ({"text": "my bag is lost", "limit": "many"}, "limit"),
        ({"text": "my bag is lost", "author": "@jane"}, "author"),
        ({"text": "my bag is lost", "agent": {"initials": "X" * 50}}, "agent"),
    ],
    ids=[
        "no-text",
        "empty-text",
        "blank-text",
        "null-text",
        "text-over-5000",
        "text-number",
        "text-list",
        "text-object",
        "unknown-brand",
        "brand-object",
        "unknown-channel",
        "limit-0",
        "limit-10000",
        "limit-not-a-number",
        "author-not-an-object",
        "initials-too-long",
    ],
)
def test_bad_input_is_400_with_a_message_for_the_field(library, agent_client, payload, field):
    answer = post(agent_client, payload)

    assert answer.status_code == 400
    errors = answer.json()
    assert set(errors) == {field}
    assert errors[field]
    assert not SuggestionRequest.objects.exists()


def test_unknown_brand_message_names_it(library, agent_client):
    errors = post(agent_client, {"text": "my bag is lost", "brand": "nope"}).json()

    assert errors == {"brand": ["Unknown brand 'nope'."]}


def test_text_of_exactly_5000_characters_is_accepted(library, agent_client):
    assert post(agent_client, {"text": "my luggage is lost " + "x" * 4981}).status_code == 200


def test_several_bad_fields_each_get_a_message(library, agent_client):
    errors = post(agent_client, {"text": "", "channel": "fax", "limit": 0}).json()

    assert set(errors) == {"text", "channel", "limit"}


@pytest.mark.parametrize("body", [b'{"text": "my bag', b"\xff\xfe", b"", b"[1, 2]", b'"text"'])
def test_body_that_is_not_a_json_object_is_400(library, agent_client, body):
    answer = agent_client.post(URL, data=body, content_type="application/json")

    assert answer.status_code == 400
    assert answer.json()  # a message, not an empty body


def test_unauthenticated_request_is_refused(library, anonymous_client):
    answer = post(anonymous_client, {"text": "my bag is lost"})

    assert answer.status_code in (401, 403)
    assert not SuggestionRequest.objects.exists()


def test_bad_token_is_refused(library):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert post(client, {"text": "my bag is lost"}).status_code == 401


def test_without_an_index_the_answer_is_503_with_a_clear_message(unindexed_library, agent_client):
    answer = post(agent_client, {"text": "my bag is lost"})

    assert answer.status_code == 503
    assert "rebuild_index" in answer.json()["detail"]
    assert not SuggestionRequest.objects.exists()


def test_index_pointer_cleared_is_503(library, agent_client):
    ActiveIndex.objects.update(version=None)

    assert post(agent_client, {"text": "my bag is lost"}).status_code == 503


def test_index_built_by_another_model_is_503_naming_the_fix(library, agent_client):
    with use_embedder(FakeEmbedder(dimension=64)):
        answer = post(agent_client, {"text": "my bag is lost"})

    assert answer.status_code == 503
    assert "rebuild the index" in answer.json()["detail"]


# ---- stored requests --------------------------------------------------------------------------


def test_stored_requests_are_listed_newest_first_and_readable_one_by_one(library, agent_client):
    first = post(agent_client, {"text": "the airline lost my luggage", "external_id": "1"}).json()
    second = post(agent_client, {"text": "what a lovely sunny day for gardening", "external_id": "2"}).json()

    listed = agent_client.get(URL).json()
    assert listed["count"] == 2
    assert [item["id"] for item in listed["results"]] == [second["id"], first["id"]]
    assert {"next", "previous"} <= set(listed)

    detail = agent_client.get(f"{URL}{first['id']}/")
    assert detail.status_code == 200
    assert detail.json() == first
    assert detail.json()["external_id"] == "1"


def test_stored_request_that_does_not_exist_is_404(library, agent_client):
    assert agent_client.get(f"{URL}999999/").status_code == 404
    assert agent_client.get(f"{URL}not-a-number/").status_code == 404


def test_stored_requests_are_not_readable_without_authentication(library, agent_client, anonymous_client):
    created = post(agent_client, {"text": "the airline lost my luggage"}).json()

    assert anonymous_client.get(URL).status_code in (401, 403)
    assert anonymous_client.get(f"{URL}{created['id']}/").status_code in (401, 403)


def test_agents_list_only_their_own_requests_and_editors_list_everyones(
    library, agent_client, author_client, editor_client
):
    mine = agent_client.post(
        "/api/v1/suggestions/", {"text": "the airline lost my luggage"}, format="json"
    ).json()
    theirs = author_client.post(
        "/api/v1/suggestions/", {"text": "my card was declined"}, format="json"
    ).json()

    listed_by_agent = [item["id"] for item in agent_client.get("/api/v1/suggestions/").json()["results"]]
    listed_by_editor = [item["id"] for item in editor_client.get("/api/v1/suggestions/").json()["results"]]

    assert listed_by_agent == [mine["id"]]
    assert agent_client.get(f"/api/v1/suggestions/{theirs['id']}/").status_code == 404
    assert set(listed_by_editor) == {mine["id"], theirs["id"]}


# ---- brand scoping: someone who serves particular brands asks about theirs -------------------


def test_an_agent_who_serves_one_brand_asks_about_it_by_default(library, agent, agent_client):
    library.brands["acme-air"].members.add(agent)

    answer = post(agent_client, {"text": "the airline lost my luggage"})

    assert answer.status_code == 200
    assert answer.json()["brand"] == "acme-air"


def test_an_agent_cannot_ask_about_a_brand_they_do_not_serve(library, agent, agent_client):
    library.brands["acme-air"].members.add(agent)

    answer = post(agent_client, {"text": "my card was declined", "brand": "globex-bank"})

    assert answer.status_code == 400
    assert answer.json() == {"brand": ["Choose one of the brands you serve: acme-air."]}


def test_someone_serving_no_brand_in_particular_may_name_none(library, agent_client):
    answer = post(agent_client, {"text": "the airline lost my luggage"})

    assert answer.status_code == 200
    assert answer.json()["brand"] is None


def test_a_lead_reads_only_the_requests_of_the_brands_they_serve(
    library, agent_client, editor, editor_client
):
    post(agent_client, {"text": "the airline lost my luggage", "brand": "acme-air"})
    post(agent_client, {"text": "my card was declined", "brand": "globex-bank"})
    post(agent_client, {"text": "hello there"})
    assert {item["brand"] for item in editor_client.get(URL).json()["results"]} == {
        "acme-air",
        "globex-bank",
        None,
    }

    library.brands["globex-bank"].members.add(editor)

    assert {item["brand"] for item in editor_client.get(URL).json()["results"]} == {"globex-bank", None}
