"""A reply over X's limit, in the console and over the API: refused whole, offered as "Split into N
parts" with their preview, and recorded as its parts when marked sent split; channels without
threads never split."""

from __future__ import annotations

import pytest

from console.models import Mention
from console.services import mention_receive, reply_parts_for
from console.signals import mention_event
from tests.connectors.test_split_sending import LONG

MENTIONS = "/api/v1/mentions/"


@pytest.fixture
def browser(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def receive(library, django_capture_on_commit_callbacks):
    def received(channel: str = "twitter", external_id: str = "t-1") -> Mention:
        with django_capture_on_commit_callbacks(execute=True):
            mention, _ = mention_receive(
                text="@AcmeAir the airline lost my luggage",
                external_id=external_id,
                channel=channel,
                brand=library.brands["acme-air"],
                author_handle="@jane",
                author_name="Jane",
            )
        return mention

    return received


@pytest.fixture
def answered_events():
    """The ``reply`` of each mention.answered announced."""
    replies = []

    def heard(sender, *, event, mention, details=None, **kwargs):
        if event == "mention.answered":
            replies.append(details["reply"])

    mention_event.connect(heard)
    yield replies
    mention_event.disconnect(heard)


def send(browser, mention, text, **fields):
    return browser.post(f"/mentions/{mention.pk}/send/", {"text": text, **fields}, follow=True)


def test_a_reply_refused_as_too_long_is_offered_split_with_its_parts_previewed(receive, browser):
    mention = receive()

    html = send(browser, mention, LONG).content.decode()

    assert "or split it into 3 parts" in html
    assert 'Split into <span class="split-count">3</span> parts' in html
    assert 'name="split" aria-controls="split-preview-own">' in html  # offered, not ticked
    for part in reply_parts_for(mention=mention, text=LONG):
        assert f"<li>{part}</li>" in html.replace("&#x27;", "'")
    mention.refresh_from_db()
    assert mention.is_open


def test_the_live_count_gives_the_parts_only_when_over_the_limit(receive, browser):
    mention = receive()
    url = f"/mentions/{mention.pk}/length/"

    over = browser.get(url, {"text": LONG}).json()
    within = browser.get(url, {"text": "So sorry, Jane!"}).json()

    assert (over["fits"], over["parts"]) == (False, reply_parts_for(mention=mention, text=LONG))
    assert (within["fits"], within["parts"]) == (True, [])


def test_marked_sent_split_it_is_recorded_as_its_parts(receive, browser, answered_events, agent):
    mention = receive()
    parts = reply_parts_for(mention=mention, text=LONG)

    answer = send(browser, mention, LONG, split="on")

    assert "Marked sent, in 3 parts." in answer.content.decode()
    mention.refresh_from_db()
    assert (mention.status, mention.reply_parts) == (Mention.Status.ANSWERED, parts)
    assert mention.reply_text == "\n\n".join(parts)
    assert answered_events == [{"text": LONG, "response": None, "agent": agent.username, "parts": parts}]
    page = browser.get(f"/mentions/{mention.pk}/").content.decode()
    assert "The reply sent, in 3 parts:" in page
    later = receive(external_id="t-2")  # Jane again: her history shows the reply in its parts
    history = browser.get(f"/mentions/{later.pk}/").content.decode().split('id="history"')[1]
    assert '<span class="tag">3 parts</span> ' + parts[0][:150] in history


def test_a_channel_without_threads_offers_no_split(receive, browser):
    mention = receive(channel="instagram")

    html = send(browser, mention, LONG * 5).content.decode()

    assert "over the 2200 Instagram allows; shorten it before sending." in html
    assert "Split into" not in html


def test_the_api_records_a_split_reply_only_when_asked(receive, agent_client):
    mention = receive()
    url = f"{MENTIONS}{mention.pk}/answer/"

    whole = agent_client.post(url, {"text": LONG}, format="json")
    split = agent_client.post(url, {"text": LONG, "split": True}, format="json")

    assert whole.status_code == 400
    assert list(whole.json()) == ["text"]
    assert "split it into 3 parts" in whole.json()["text"][0]
    assert split.status_code == 200
    parts = reply_parts_for(mention=mention, text=LONG)
    assert (split.json()["reply_parts"], split.json()["reply_text"]) == (parts, "\n\n".join(parts))


def test_the_api_refuses_split_on_a_channel_without_threads(receive, agent_client):
    mention = receive(channel="facebook")

    answer = agent_client.post(
        f"{MENTIONS}{mention.pk}/answer/", {"text": "Sorry, Jane!", "split": True}, format="json"
    )

    assert answer.status_code == 400
    assert list(answer.json()) == ["split"]
    mention.refresh_from_db()
    assert mention.is_open


def test_a_reply_answered_whole_has_no_parts(receive, agent_client):
    mention = receive()

    answer = agent_client.post(f"{MENTIONS}{mention.pk}/answer/", {"text": "So sorry, Jane!"}, format="json")

    assert (answer.json()["reply_text"], answer.json()["reply_parts"]) == ("So sorry, Jane!", [])
