"""Sending through a connected X account, in the browser: the mention's drafts offer "Send"
(the private-channel one ticked to go as a direct message); a post X refuses keeps the mention
open with the reason and the agent's text; once it goes out, it is one reply in the thread."""

from __future__ import annotations

from playwright.sync_api import expect

from console.models import Mention
from tests.browser.conftest import screenshot, sign_in
from tests.connectors.conftest import connection as connection  # Acme Air's X account
from tests.connectors.conftest import fake_x as fake_x  # the local X API
from tests.connectors.conftest import poll as poll  # reads its mentions

REPLY = "Jane, so sorry your bag hasn't arrived. We're on it. ^SL"


def test_an_agent_sends_a_draft_as_a_reply_on_x_after_a_refusal(page, live_server, agent, fake_x, poll):
    tweet_id = fake_x.mention("the airline lost my luggage on the connecting flight", username="jane")
    poll()
    mention = Mention.objects.get(external_id=tweet_id)
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{mention.pk}/")

    first = page.locator("#drafts form.draft").first
    expect(first.locator("button.send")).to_have_text("Send Ctrl+Enter")
    expect(page.locator("button.send", has_text="Mark sent")).to_have_count(0)
    private = first.get_by_label("As a direct message")
    expect(private).to_be_checked()  # the lost-baggage issue moves to a private channel
    private.uncheck()
    first.locator("textarea[name=text]").fill(REPLY)

    fake_x.exhaust("post")  # X refuses this one: no calls left in its window
    first.locator("button.send").click()

    expect(page.locator(".messages .error")).to_contain_text("rate limit")
    expect(page.locator("#drafts form.draft").first.locator("textarea[name=text]")).to_have_value(REPLY)
    screenshot(page, "console-x-send-refused")
    mention.refresh_from_db()
    assert mention.is_open

    fake_x.limit = 10_000  # the window is open again
    again = page.locator("#drafts form.draft").first
    expect(again.get_by_label("As a direct message")).not_to_be_checked()  # as the agent left it
    again.locator("textarea[name=text]").press("Control+Enter")

    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator(".messages .success")).to_contain_text("Sent on X.")
    assert [reply.text for reply in fake_x.replies_to(tweet_id)] == [REPLY]
    mention.refresh_from_db()
    assert (mention.status, mention.reply_text) == (Mention.Status.ANSWERED, REPLY)
