"""A template that cannot be rendered for one customer costs that draft, never the answer: it is
refused when saved where it can be told, left out when it fails anyway, logged with its key and
listed in library health until its text changes."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from console.services import mention_drafts, mention_receive
from insights.health import library_health
from kb import services
from kb.models import Response

SUGGESTIONS = "/api/v1/suggestions/"
DM = "lost-baggage-dm"
# Saved before filters were bounded: the precision alone makes Decimal give up, for any number.
UNRENDERABLE = "{{ customer_name|floatformat:'3000000' }}, sorry about your bag."
LUGGAGE = {
    "text": "the airline lost my luggage on the connecting flight",
    "brand": "acme-air",
    "channel": "twitter",
    "author": {"handle": "@12", "name": "12"},
}


def stored_as(library, key: str, text: str) -> Response:
    """The response's text replaced in the database, past every check (a row written before them)."""
    Response.objects.filter(key=key).update(text=text)
    return Response.objects.get(key=key)


@pytest.mark.parametrize(
    "text",
    ["{{ customer_name|ljust:'300000000' }}.", "{{ customer_name|floatformat:'3000000' }}"],
)
def test_an_author_cannot_save_a_draft_whose_filter_size_is_out_of_bounds(library, author_client, text):
    answer = author_client.post(
        "/api/v1/responses/",
        {"key": "wifi-padded", "issue": "onboard-wifi", "text": text},
        format="json",
    )

    assert answer.status_code == 400
    assert "whole number" in " ".join(answer.json()["text"])
    assert not Response.objects.filter(key="wifi-padded").exists()


def test_a_reply_that_fails_to_render_is_left_out_and_the_request_answered(library, agent_client, caplog):
    stored_as(library, DM, UNRENDERABLE)

    with caplog.at_level(logging.WARNING, logger="suggestions.services"):
        answer = agent_client.post(SUGGESTIONS, LUGGAGE, format="json")

    assert answer.status_code == 200
    body = answer.json()
    suggested = [item["response"] for item in body["suggestions"] + body.get("candidates", [])]
    assert DM not in suggested
    assert any(DM in record.getMessage() for record in caplog.records)


def test_a_valid_template_that_fails_for_one_customer_only_costs_them_that_draft(library, agent_client):
    stored_as(library, DM, "{{ customer_name }}. " * 130)  # valid, if too long for Twitter
    long_name = {**LUGGAGE, "author": {"handle": "@long", "name": "N" * 200}}

    short = agent_client.post(SUGGESTIONS, {**LUGGAGE, "author": {"name": "Jane"}}, format="json")
    long = agent_client.post(SUGGESTIONS, long_name, format="json")

    assert short.json()["suggestions"][0]["response"] == DM
    assert long.status_code == 200
    assert DM not in [item["response"] for item in long.json()["suggestions"]]


def test_the_stored_request_holds_only_what_was_answered(library, agent_client):
    stored_as(library, DM, UNRENDERABLE)

    answer = agent_client.post(SUGGESTIONS, LUGGAGE, format="json")
    again = agent_client.get(f"{SUGGESTIONS}{answer.json()['id']}/")

    assert again.status_code == 200
    assert DM not in [item["response"] for item in again.json()["suggestions"]]


def test_a_draft_that_fails_to_render_for_the_agent_leaves_the_inbox_working(
    library, django_capture_on_commit_callbacks, agent, client
):
    with django_capture_on_commit_callbacks(execute=True):
        mention, _ = mention_receive(
            text="@AcmeAir the airline lost my luggage",
            external_id="t-12",
            channel="twitter",
            brand=library.brands["acme-air"],
            author_name="12",
            author_handle="@twelve",
        )
    mention.refresh_from_db()
    assert mention.suggestion.shown[0]["response"] == DM
    stored_as(library, DM, UNRENDERABLE)
    client.force_login(agent)

    drafts = mention_drafts(mention=mention, agent=agent)
    page = client.get(f"/mentions/{mention.pk}/")

    assert DM not in [draft["response"] for draft in drafts]
    assert page.status_code == 200


def test_library_health_lists_templates_that_failed_to_render(library, agent_client):
    stored_as(library, DM, UNRENDERABLE)
    for _ in range(2):
        agent_client.post(SUGGESTIONS, LUGGAGE, format="json")

    failing = library_health().render_failures

    assert [(item.response.key, item.failures) for item in failing] == [(DM, 2)]
    assert "floatformat" in failing[0].reason


def test_a_failure_is_forgotten_once_the_text_is_changed(library, agent_client, editor):
    stored_as(library, DM, UNRENDERABLE)
    agent_client.post(SUGGESTIONS, LUGGAGE, format="json")
    assert library_health().render_failures

    services.response_update(
        response=Response.objects.get(key=DM), updated_by=editor, text="So sorry about your bag. DM us."
    )

    assert library_health().render_failures == []


def test_the_health_page_and_api_show_templates_that_failed(
    library, agent_client, editor, editor_client, client
):
    stored_as(library, DM, UNRENDERABLE)
    agent_client.post(SUGGESTIONS, LUGGAGE, format="json")
    client.force_login(editor)

    page = client.get(reverse("insights:health"))
    api = editor_client.get("/api/v1/library-health/")

    assert page.status_code == 200
    section = page.content.decode().split('id="render-failures"')[1].split("</section>")[0]
    assert DM in section and reverse("admin:kb_response_change", args=[library.responses[DM].pk]) in section
    assert [item["response"]["key"] for item in api.json()["render_failures"]] == [DM]


def test_the_library_api_still_lists_a_response_whose_template_no_longer_renders(library, agent_client):
    stored_as(library, DM, "{{ customer_name|stringformat:'5d' }}")

    answer = agent_client.get("/api/v1/responses/", {"key": DM})

    assert answer.status_code == 200
    assert answer.json()["results"][0]["sample"] is None
