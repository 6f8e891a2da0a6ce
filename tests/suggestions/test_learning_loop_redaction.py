"""A mention an agent answered becomes a proposed example without the customer's personal data:
what editors review in the admin, and what the library would learn, carries placeholders."""

from __future__ import annotations

import pytest

from console.services import mention_receive
from kb.models import Example

PROPOSED = "/admin/suggestions/proposedexample/"
MENTIONS = "/api/v1/mentions/"
LUGGAGE = "@AcmeAir the airline lost my luggage, write to jane.doe@example.com or call +44 20 7946 0958"


@pytest.fixture
def editor_browser(client, editor):
    client.force_login(editor)
    return client


def answer_and_accept(client, text: str) -> dict:
    body = client.post("/api/v1/suggestions/", {"text": text, "channel": "twitter"}, format="json").json()
    assert body["suggestions"], body
    given = client.post(
        f"/api/v1/suggestions/{body['id']}/feedback/",
        {"response": body["suggestions"][0]["response"], "action": "accepted"},
        format="json",
    )
    assert given.status_code in (200, 201), given.content
    return body


def test_an_answered_mention_is_proposed_without_its_email_or_phone(library, agent_client):
    answer_and_accept(agent_client, LUGGAGE)

    example = Example.objects.get(status=Example.Status.PENDING)
    assert example.text == "the airline lost my luggage, write to [email] or call [phone]"


def test_a_mention_answered_in_the_inbox_is_proposed_without_the_card_number(
    library, agent_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        mention, _ = mention_receive(
            text="@AcmeAir the airline lost my luggage on the connecting flight, "
            "booking XK4J2P card 4111111111111111",
            external_id="t-card",
            channel="twitter",
            brand=library.brands["acme-air"],
        )
    draft = agent_client.get(f"{MENTIONS}{mention.pk}/").json()["suggestions"][0]

    answered = agent_client.post(
        f"{MENTIONS}{mention.pk}/answer/",
        {"text": draft["text"], "response": draft["response"]},
        format="json",
    )

    assert answered.status_code == 200, answered.content
    example = Example.objects.get(status=Example.Status.PENDING)
    assert example.text == (
        "the airline lost my luggage on the connecting flight, booking [booking code] card [card]"
    )


def test_mentions_differing_only_in_personal_data_propose_one_example(library, agent_client):
    answer_and_accept(agent_client, "@AcmeAir the airline lost my luggage, I am ann@example.com")
    answer_and_accept(agent_client, "@AcmeAir the airline lost my luggage, I am bob@example.org")

    example = Example.objects.get(status=Example.Status.PENDING)
    assert example.text == "the airline lost my luggage, I am [email]"
    assert example.proposals.count() == 2


def test_the_review_queue_shows_the_redacted_phrasing_and_mention(library, agent_client, editor_browser):
    answer_and_accept(agent_client, LUGGAGE)
    proposed = Example.objects.get(status=Example.Status.PENDING)

    listing = editor_browser.get(PROPOSED)
    detail = editor_browser.get(f"{PROPOSED}{proposed.pk}/change/")

    assert listing.status_code == detail.status_code == 200
    assert "[email]" in listing.text
    for page in (listing, detail):
        assert "jane.doe@example.com" not in page.text
        assert "7946 0958" not in page.text
    # The mention as written, with its placeholders, so the editor still sees what was said.
    assert "@AcmeAir the airline lost my luggage, write to [email] or call [phone]" in detail.text
