"""The engine in the admin: "Try a mention" shows what an agent would get, and the request log."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.utils.html import escape

from kb.models import Example
from suggestions.indexing import library_snapshot
from suggestions.models import SuggestionRequest
from tests.factories import UserFactory

TRY = "/admin/suggestions/suggestionrequest/try/"


@pytest.fixture
def editor_browser(client, editor):
    client.force_login(editor)
    return client


def test_try_a_mention_shows_ranked_replies_with_scores_and_matched_examples(library, editor_browser):
    page = editor_browser.post(
        TRY,
        {
            "text": "@AcmeAir the airline lost my luggage",
            "brand": "acme-air",
            "channel": "twitter",
            "customer_name": "Jane",
            "agent_name": "Sam Lee",
            "limit": 3,
        },
    )

    assert page.status_code == 200
    answer = page.context["answer"]
    assert answer.suggestions[0].response == "lost-baggage-dm"
    html = page.content.decode()
    assert "lost-baggage-dm" in html
    assert answer.suggestions[0].matched_example in html
    assert "Jane" in answer.suggestions[0].text and "^SL" in answer.suggestions[0].text
    assert not SuggestionRequest.objects.exists()  # trying stores nothing


def test_try_a_mention_says_when_nothing_fits(library, editor_browser, settings):
    settings.CARELINE_ABSTAIN_THRESHOLD = 1.0

    page = editor_browser.post(TRY, {"text": "the airline lost my luggage", "channel": "twitter", "limit": 3})

    assert page.status_code == 200
    assert "Nothing fits well enough" in page.content.decode()


def test_try_a_mention_folds_the_closest_drafts_when_it_abstains(library, editor_browser, settings):
    settings.CARELINE_ABSTAIN_THRESHOLD = 1.0

    page = editor_browser.post(
        TRY,
        {"text": "the airline lost my luggage", "channel": "twitter", "customer_name": "Jane", "limit": 3},
    )

    answer = page.context["answer"]
    assert answer.suggestions == [] and answer.candidates[0].response == "lost-baggage-dm"
    html = page.content.decode()
    fold = html[html.index('<details id="closest-drafts"') :]
    assert "Nothing fits well — closest drafts" in fold and "low confidence" in fold
    for candidate in answer.candidates:
        assert candidate.response in fold
        assert f"confidence {candidate.confidence:.2f}" in fold
    assert escape(answer.candidates[0].text) in fold


def test_try_a_mention_shows_confident_drafts_unfolded(library, editor_browser):
    page = editor_browser.post(TRY, {"text": "the airline lost my luggage", "channel": "twitter", "limit": 3})

    assert page.context["answer"].candidates == []
    assert 'id="closest-drafts"' not in page.content.decode()


def test_try_a_mention_without_an_index_explains_instead_of_failing(unindexed_library, editor_browser):
    page = editor_browser.post(TRY, {"text": "lost my luggage", "channel": "twitter", "limit": 3})

    assert page.status_code == 200
    assert "Suggestions are unavailable" in page.content.decode()


def test_try_a_mention_rejects_bad_input_with_a_form_error(library, editor_browser):
    page = editor_browser.post(TRY, {"text": "", "channel": "pigeon", "limit": 0})

    assert page.status_code == 200
    assert set(page.context["form"].errors) == {"text", "channel", "limit"}


def test_request_log_and_index_versions_are_readable_not_editable(library, editor_browser, agent_client):
    agent_client.post("/api/v1/suggestions/", {"text": "the airline lost my luggage"}, format="json")
    stored = SuggestionRequest.objects.get()

    assert editor_browser.get("/admin/suggestions/suggestionrequest/").status_code == 200
    assert editor_browser.get(f"/admin/suggestions/suggestionrequest/{stored.pk}/change/").status_code == 200
    assert editor_browser.get("/admin/suggestions/indexversion/").status_code == 200
    assert editor_browser.get("/admin/suggestions/suggestionrequest/add/").status_code == 403
    assert editor_browser.post(f"/admin/suggestions/suggestionrequest/{stored.pk}/delete/").status_code == 403


def test_agents_cannot_open_the_admin_pages(library, client, agent):
    client.force_login(agent)

    assert client.get(TRY).status_code == 302  # to the admin login: agents are not staff


PROPOSED = "/admin/suggestions/proposedexample/"


def answer_and_accept(client, text: str) -> dict:
    body = client.post("/api/v1/suggestions/", {"text": text, "channel": "twitter"}, format="json").json()
    client.post(
        f"/api/v1/suggestions/{body['id']}/feedback/",
        {"response": body["suggestions"][0]["response"], "action": "accepted"},
        format="json",
    )
    return body


def test_proposed_examples_queue_shows_each_phrasing_with_who_proposed_it(
    library, editor_browser, agent_client
):
    answer_and_accept(agent_client, "@AcmeAir the airline lost my luggage in lisbon")
    proposed = Example.objects.get(status=Example.Status.PENDING)

    listing = editor_browser.get(PROPOSED)
    detail = editor_browser.get(f"{PROPOSED}{proposed.pk}/change/")

    assert listing.status_code == 200
    assert "the airline lost my luggage in lisbon" in listing.text
    assert "@AcmeAir the airline lost my luggage in lisbon" in detail.text  # the mention as written
    assert "sam" in detail.text  # the agent who proposed it


def test_an_editor_activates_a_proposed_example_and_the_index_learns_it(
    library, editor_browser, agent_client
):
    answer_and_accept(agent_client, "@AcmeAir the airline lost my luggage in lisbon")
    proposed = Example.objects.get(status=Example.Status.PENDING)

    page = editor_browser.post(
        PROPOSED, {"action": "activate_selected", "_selected_action": [proposed.pk]}, follow=True
    )

    assert "1 proposed example activated" in page.text
    proposed.refresh_from_db()
    assert proposed.status == Example.Status.ACTIVE
    assert "the airline lost my luggage in lisbon" in library_snapshot().texts.values()
    assert editor_browser.get(PROPOSED).text.count("lost my luggage in lisbon") == 0


def test_reviewers_without_the_right_to_edit_examples_cannot_activate(library, client, agent_client):
    answer_and_accept(agent_client, "@AcmeAir the airline lost my luggage in lisbon")
    proposed = Example.objects.get(status=Example.Status.PENDING)
    viewer = UserFactory(username="viv", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_example"))
    client.force_login(viewer)

    assert client.get(PROPOSED).status_code == 200
    client.post(PROPOSED, {"action": "activate_selected", "_selected_action": [proposed.pk]})

    proposed.refresh_from_db()
    assert proposed.status == Example.Status.PENDING
