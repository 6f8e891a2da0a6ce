"""The console on a phone, 390 px wide: no page scrolls sideways, the inbox's head reads as two
things ("Inbox", then how many are overdue), and each mention still opens with a tap."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from console.services import mention_answer
from tests.browser.conftest import open_tab, screenshot, sign_in
from tests.browser.test_accessibility import violations

PHONE = {"width": 390, "height": 844}


def page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_the_inbox_fits_a_phone_and_its_head_reads_apart(page, live_server, agent, receive):
    page.set_viewport_size(PHONE)
    receive(
        "@AcmeAir the airline lost my luggage and nobody at the desk in Lisbon could tell me where it is",
        minutes_ago=90,
    )
    recent = receive("@AcmeAir my flight got cancelled and nobody can rebook me", minutes_ago=10)
    sign_in(page, live_server, "sam")
    screenshot(page, "phone-inbox")

    assert page_width(page) <= PHONE["width"]
    title = page.locator(".inbox-head h1").bounding_box()
    overdue = page.locator(".inbox-head .overdue").bounding_box()
    assert title and overdue
    side_by_side = overdue["y"] < title["y"] + title["height"]
    assert not side_by_side or overdue["x"] >= title["x"] + title["width"] + 8, "“Inbox” runs into the count"
    for row in page.locator("#inbox tr.mention").all():
        box = row.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        expect(row.locator(".time-left")).to_be_visible()
        expect(row.locator("a.open")).to_be_visible()
    assert violations(page) == []  # the stacked rows lose nothing axe checks

    page.locator(f'#inbox tr.mention[data-id="{recent.pk}"] a.open').click()
    page.wait_for_url(f"{live_server.url}/mentions/{recent.pk}/")


def test_the_done_tab_fits_a_phone(page, live_server, agent, receive):
    page.set_viewport_size(PHONE)
    answered = receive("@AcmeAir still waiting for my delayed suitcase, four days now", minutes_ago=40)
    mention_answer(mention=answered, text="Please DM us your tag number.", agent=agent)
    sign_in(page, live_server, "sam")

    open_tab(page, "done")

    row = page.locator(f'#inbox tr.mention[data-id="{answered.pk}"]')
    expect(row.locator(".outcome")).to_contain_text("Answered")
    screenshot(page, "phone-inbox-done")
    assert page_width(page) <= PHONE["width"]


def test_a_mention_fits_a_phone(page, live_server, agent, luggage):
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{luggage.pk}/")
    page.locator("#escalate summary").click()
    screenshot(page, "phone-mention")

    assert page_width(page) <= PHONE["width"]
    send = page.locator("form.draft").first.locator("button.send").bounding_box()
    assert send and send["x"] + send["width"] <= PHONE["width"]


def test_the_paste_box_fits_a_phone(page, live_server, agent, library):
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/paste/")
    page.locator("#paste textarea").fill("@AcmeAir the airline lost my luggage")
    page.locator("#paste button[type=submit]").click()
    expect(page.locator("form.draft.pasted").first).to_be_visible()
    screenshot(page, "phone-paste")

    assert page_width(page) <= PHONE["width"]
    for control in page.locator("#paste").locator("textarea, select, input[type=text], button").all():
        box = control.bounding_box()  # nothing pushed off the left edge either, where no scrollbar shows it
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
