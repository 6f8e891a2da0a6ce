"""The conversation in view: a mention's page shows its thread oldest first, our replies marked,
and the customer's history with the brand; readable on a phone, in both colour schemes, and a
follow-up in a thread the agent holds is in their own queue."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from console.models import Mention
from console.services import mention_answer, mention_dismiss, mention_take
from tests.browser.conftest import open_tab, screenshot, sign_in
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_phone import PHONE, page_width

OUR_REPLY = "So sorry, Jane! Please DM us your bag tag number and we'll trace it. ^OO"


@pytest.fixture
def third_tweet(receive, other_agent, agent) -> Mention:
    """The third tweet of Jane's thread; Olga answered the first. Jane also praised the crew last
    week (dismissed)."""
    praise = receive("@AcmeAir lovely crew on my flight to Porto", minutes_ago=7 * 24 * 60)
    mention_dismiss(mention=praise, reason="Praise, no reply needed", agent=agent)
    first = receive("@AcmeAir the airline lost my luggage", minutes_ago=120)
    mention_answer(mention=first, text=OUR_REPLY, agent=other_agent)
    thread = first.external_id
    second = receive("@AcmeAir sent the DM, bag tag AC123456", minutes_ago=60, conversation_id=thread)
    return receive(
        "@AcmeAir still nothing??", minutes_ago=3, conversation_id=thread, in_reply_to_id=second.external_id
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


def test_a_follow_up_in_a_thread_the_agent_holds_is_in_their_queue(page, live_server, agent, receive):
    opening = receive("@AcmeAir my flight got cancelled", minutes_ago=30)
    mention_take(mention=opening, agent=agent)
    follow_up = receive("@AcmeAir hello?? anyone?", minutes_ago=1, conversation_id=opening.external_id)

    sign_in(page, live_server, "sam")
    open_tab(page, "mine")

    expect(page.locator(f'#inbox tr.mention[data-id="{follow_up.pk}"]')).to_be_visible()
    expect(page.locator(f'#inbox tr.mention[data-id="{opening.pk}"]')).to_be_visible()
