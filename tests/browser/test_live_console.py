"""The console keeps up by itself: new mentions appear in the open inbox, drafts computed after
the page opened come in, and another agent taking the mention shows, all without a reload. And
the escalation path: nothing fits, escalate to a lead, who finds it in their queue."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from console.models import Mention
from console.services import mention_suggest, mention_take
from tests.browser.conftest import awaiting_drafts, open_tab, screenshot, sign_in


@pytest.fixture(autouse=True)
def _refresh_every_second(settings):
    settings.CARELINE_CONSOLE_REFRESH_SECONDS = 1


def mark_the_page(page: Page) -> None:
    """A mark that a reload would wipe out."""
    page.evaluate("window.notReloaded = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.notReloaded === true"), "the page was reloaded"


def test_a_mention_pushed_while_the_inbox_is_open_appears_by_itself(page, live_server, agent, receive):
    sign_in(page, live_server, "sam")
    expect(page.locator(".empty")).to_have_text("Nothing waiting here.")
    mark_the_page(page)

    mention = receive("@AcmeAir the airline lost my luggage")

    expect(page.locator(f'#inbox tr.mention[data-id="{mention.pk}"]')).to_be_visible()
    expect(page.locator("#tab-open .size")).to_have_text("1")
    expect(page).to_have_title(re.compile(r"^\(1\) Inbox"))
    expect(page.locator(f'#inbox tr.mention[data-id="{mention.pk}"]')).to_have_class(re.compile("selected"))
    assert_not_reloaded(page)


def test_the_selection_stays_on_its_mention_when_the_list_refreshes(page, live_server, agent, receive):
    older = receive("@AcmeAir my flight got cancelled", minutes_ago=30)
    chosen = receive("@AcmeAir the airline lost my luggage", minutes_ago=20)
    sign_in(page, live_server, "sam")
    page.keyboard.press("j")
    expect(page.locator("#inbox tr.selected")).to_have_attribute("data-id", str(chosen.pk))

    newest = receive("@AcmeAir where is my refund", minutes_ago=1)
    expect(page.locator(f'#inbox tr.mention[data-id="{newest.pk}"]')).to_be_visible()

    expect(page.locator("#inbox tr.selected")).to_have_attribute("data-id", str(chosen.pk))
    assert older.pk != chosen.pk


def test_drafts_computed_after_the_page_opened_come_in_and_are_counted(page, live_server, agent, library):
    waiting = awaiting_drafts(library, "late-drafts")
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{waiting.pk}/")
    expect(page.locator("#drafts .pending")).to_be_visible()
    expect(page.locator("#nothing-fits")).to_have_count(0)
    mark_the_page(page)

    mention_suggest(mention_id=waiting.pk)

    draft = page.locator("form.draft").first
    expect(draft.locator("textarea[name=text]")).to_have_value(re.compile(r"^Jane, .* \^SL$"))
    expect(page.locator("#nothing-fits")).to_be_visible()  # the actions came in with the drafts
    draft.locator("textarea[name=text]").fill("Jane, DM us please.")
    # The count is set up on drafts that came in later too.
    expect(draft.locator(".char-count")).to_have_text(
        re.compile(rf"^\s*{len('@jane Jane, DM us please.')} / 280")
    )
    assert_not_reloaded(page)


def test_another_agent_taking_the_mention_shows_at_once(page, live_server, agent, other_agent, luggage):
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{luggage.pk}/")
    expect(page.locator("#take")).to_have_text(re.compile("Take it"))
    mark_the_page(page)

    mention_take(mention=luggage, agent=other_agent)

    expect(page.locator(".held-by")).to_have_text("Olga Ortiz has this mention.")
    expect(page.locator("#take")).to_have_text(re.compile("Take it over"))
    assert_not_reloaded(page)


def test_nothing_fits_then_escalate_to_a_lead_who_answers_it(new_page, live_server, agent, editor, luggage):
    sam = new_page()
    sign_in(sam, live_server, "sam")
    sam.goto(f"{live_server.url}/mentions/{luggage.pk}/")
    sam.keyboard.press("n")
    expect(sam.locator("#own-reply")).to_be_visible()
    escalation = sam.locator("#escalate")
    expect(escalation).to_have_attribute("open", "")
    escalation.locator("select[name=lead]").select_option(label="Edith Editor")
    escalation.locator("textarea[name=note]").fill("Bag lost twice; she wants compensation.")
    screenshot(sam, "console-escalate")
    escalation.locator("button[type=submit]").click()
    sam.wait_for_url(f"{live_server.url}/")
    expect(sam.locator(".messages .success")).to_have_text("Escalated to Edith Editor.")

    edith = new_page()
    sign_in(edith, live_server, "edith")
    open_tab(edith, "mine")
    row = edith.locator(f'#inbox tr.mention[data-id="{luggage.pk}"]')
    expect(row.locator(".escalated")).to_have_text("Escalated by Sam Lee")
    row.locator("a.open").click()
    expect(edith.locator(".escalation")).to_contain_text("Bag lost twice; she wants compensation.")
    edith.locator("#own-reply textarea[name=text]").fill("Jane, we are so sorry. Our lead will DM you today.")
    edith.locator("#own-reply button.send").click()
    edith.wait_for_url(f"{live_server.url}/")

    open_tab(edith, "done")
    done = edith.locator(f'#inbox tr.mention[data-id="{luggage.pk}"]')
    expect(done.locator(".outcome")).to_have_text("Answered")
    screenshot(edith, "console-done-today")
    luggage.refresh_from_db()
    assert (luggage.status, luggage.closed_by, luggage.escalated_by) == (
        Mention.Status.ANSWERED,
        editor,
        agent,
    )
