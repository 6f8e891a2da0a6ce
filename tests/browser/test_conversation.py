"""The conversation in view: a mention's page shows its thread oldest first, our replies marked,
and the customer's history with the brand; readable on a phone, in both colour schemes, and a
follow-up in a thread the agent holds is in their own queue."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from console.models import Mention
from console.services import mention_answer, mention_dismiss, mention_receive, mention_take
from tests.browser.conftest import open_tab, screenshot, sign_in
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_phone import PHONE, page_width

OUR_REPLY = "So sorry, Jane! Please DM us your bag tag number and we'll trace it. ^OO"


@pytest.fixture
def tweet(library, django_capture_on_commit_callbacks):
    """Receives Jane's tweet to Acme Air, ``minutes_ago``, its suggestions computed at once."""

    def received(external_id: str, text: str, minutes_ago: int, **thread: str) -> Mention:
        with django_capture_on_commit_callbacks(execute=True):
            mention, _ = mention_receive(
                text=text,
                external_id=external_id,
                channel="twitter",
                brand=library.brands["acme-air"],
                author_handle="@jane",
                author_name="Jane",
                received_at=timezone.now() - timedelta(minutes=minutes_ago),
                **thread,
            )
        mention.refresh_from_db()
        return mention

    return received


@pytest.fixture
def third_tweet(tweet, other_agent, agent) -> Mention:
    """The third tweet of Jane's thread; Olga answered the first. Jane also praised the crew last
    week (dismissed)."""
    praise = tweet("x-1", "@AcmeAir lovely crew on my flight to Porto", minutes_ago=7 * 24 * 60)
    mention_dismiss(mention=praise, reason="Praise, no reply needed", agent=agent)
    first = tweet("x-10", "@AcmeAir the airline lost my luggage", minutes_ago=120)
    mention_answer(mention=first, text=OUR_REPLY, agent=other_agent)
    tweet("x-11", "@AcmeAir sent the DM, bag tag AC123456", minutes_ago=60, conversation_id="x-10")
    return tweet(
        "x-12", "@AcmeAir still nothing??", minutes_ago=3, conversation_id="x-10", in_reply_to_id="x-11"
    )


def test_the_mention_page_shows_the_thread_oldest_first_and_the_history(
    page, live_server, agent, third_tweet
):
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{third_tweet.pk}/")

    thread = page.get_by_role("region", name="The conversation")
    expect(thread.get_by_role("heading", level=2)).to_have_text("The conversation")
    messages = thread.locator("ol.thread > li")
    expect(messages).to_have_count(4)
    expect(messages.nth(0)).to_contain_text("the airline lost my luggage")
    expect(messages.nth(1)).to_contain_text("Our reply")
    expect(messages.nth(1)).to_contain_text(OUR_REPLY)
    expect(messages.nth(1)).to_contain_text("Olga Ortiz")
    expect(messages.nth(1)).to_have_class(re.compile(r"\bours\b"))
    expect(messages.nth(2)).to_contain_text("sent the DM")
    expect(messages.nth(3)).to_contain_text("still nothing??")
    expect(messages.nth(3)).to_have_attribute("aria-current", "true")

    history = page.get_by_role("region", name=re.compile("history with Acme Air"))
    expect(history).to_contain_text("1 other mention: 0 open, 0 answered, 1 dismissed.")
    expect(history.locator("ul.history > li")).to_have_count(1)
    expect(history.locator("li")).to_contain_text("lovely crew")
    expect(history.locator("li .tag")).to_have_text("Dismissed")

    assert_accessible(page, "conversation-mention")

    page.set_viewport_size(PHONE)
    screenshot(page, "phone-conversation")
    assert page_width(page) <= PHONE["width"]
    for item in messages.all():
        box = item.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_a_follow_up_in_a_thread_the_agent_holds_is_in_their_queue(page, live_server, agent, tweet):
    opening = tweet("y-1", "@AcmeAir my flight got cancelled", minutes_ago=30)
    mention_take(mention=opening, agent=agent)
    follow_up = tweet("y-2", "@AcmeAir hello?? anyone?", minutes_ago=1, conversation_id="y-1")

    sign_in(page, live_server, "sam")
    open_tab(page, "mine")

    expect(page.locator(f'#inbox tr.mention[data-id="{follow_up.pk}"]')).to_be_visible()
    expect(page.locator(f'#inbox tr.mention[data-id="{opening.pk}"]')).to_be_visible()
