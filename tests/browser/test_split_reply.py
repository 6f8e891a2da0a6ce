"""A reply too long for X, in the browser: the draft offers "Split into N parts" once it is over
the limit (not while it goes as a direct message), reached with the keyboard, previewing the
parts; Send posts them on X as a chain under the mention."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from console.models import Mention
from console.services import reply_parts_for
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_accessibility import violations
from tests.connectors.conftest import connection as connection  # Acme Air's X account
from tests.connectors.conftest import fake_x as fake_x  # the local X API
from tests.connectors.conftest import poll as poll  # reads its mentions
from tests.connectors.test_split_sending import LONG


def test_an_agent_splits_a_long_reply_and_sends_it_as_a_chain_on_x(page, live_server, agent, fake_x, poll):
    tweet_id = fake_x.mention("the airline lost my luggage on the connecting flight", username="jane")
    poll()
    mention = Mention.objects.get(external_id=tweet_id)
    parts = reply_parts_for(mention=mention, text=LONG)
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{mention.pk}/")

    draft = page.locator("#drafts form.draft").first
    offer = draft.get_by_label(re.compile(r"Split into \d+ parts"))
    expect(offer).to_be_hidden()  # the draft fits
    draft.locator("textarea[name=text]").fill(LONG)
    expect(draft.locator(".char-count")).to_have_class(re.compile("over"))
    expect(offer).to_be_hidden()  # ticked for a direct message, which is never split
    draft.get_by_label("As a direct message").uncheck()
    expect(offer).to_be_visible()
    expect(draft.get_by_text("Split into 3 parts")).to_be_visible()

    offer.focus()
    page.keyboard.press("Space")
    expect(offer).to_be_checked()
    preview = draft.get_by_role("list", name="The reply in parts, as they would go out")
    expect(preview.get_by_role("listitem")).to_have_text(parts)
    screenshot(page, "console-split-preview")
    assert violations(page) == []

    draft.locator("textarea[name=text]").press("Control+Enter")

    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator(".messages .success")).to_contain_text("Sent on X, in 3 parts.")
    assert [tweet.text for tweet in fake_x.chain_from(tweet_id)] == parts
    mention.refresh_from_db()
    assert (mention.status, mention.reply_parts) == (Mention.Status.ANSWERED, parts)
