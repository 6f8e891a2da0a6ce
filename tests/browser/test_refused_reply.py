"""A reply the console refuses stays where the agent typed it: too long for the channel, or from a
draft whose response was retired while the page was open."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from console.models import Mention
from kb import services
from kb.models import Response
from tests.browser.conftest import sign_in

SUGGESTED_DRAFTS = "form.draft:not(#own-reply)"


def test_an_over_length_reply_is_refused_and_kept(page, live_server, agent, luggage):
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{luggage.pk}/")
    draft = page.locator(SUGGESTED_DRAFTS).first
    text = draft.locator("textarea[name=text]")

    # Starting with the customer's handle does not count it twice: exactly the limit still fits.
    fits = "@jane " + "x" * 274
    text.fill(fits)
    expect(draft.locator(".char-count")).to_have_text(re.compile(r"^\s*280\s*/\s*280\s*$"))
    expect(draft.locator(".char-count")).not_to_have_class(re.compile("over"))

    too_long = fits + " and more"
    text.fill(too_long)
    expect(draft.locator(".char-count")).to_have_class(re.compile("over"))
    draft.locator("button.send").click()

    expect(page.locator(".messages .error")).to_contain_text("289 characters, over the 280")
    expect(page.locator(SUGGESTED_DRAFTS).first.locator("textarea[name=text]")).to_have_value(too_long)
    luggage.refresh_from_db()
    assert luggage.status == Mention.Status.NEW


def test_a_draft_retired_while_the_page_is_open_is_refused_and_the_text_kept(
    page, live_server, agent, editor, luggage
):
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{luggage.pk}/")
    draft = page.locator(SUGGESTED_DRAFTS).first
    typed = "Jane, so sorry! Our baggage desk will call you tonight. ^SL"
    draft.locator("textarea[name=text]").fill(typed)

    retired = Response.objects.get(key="lost-baggage-dm")
    services.response_retire(response=retired, retired_by=editor)
    draft.locator("button.send").click()

    expect(page.locator(".messages .error")).to_contain_text("pick another draft or write your own")
    expect(page.locator('input[name=response][value="lost-baggage-dm"]')).to_have_count(0)
    expect(page.locator("#own-reply textarea[name=text]")).to_have_value(typed)
    page.locator("#own-reply button.send").click()

    page.wait_for_url(f"{live_server.url}/")
    luggage.refresh_from_db()
    assert (luggage.status, luggage.reply_text) == (Mention.Status.ANSWERED, typed)
