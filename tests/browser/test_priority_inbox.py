"""The inbox most urgent first: a safety mention and an angry one, both overdue, above calm ones
(even one that waited longer), with badges saying why; the oldest first at a click; filters that
stay through the list refreshing itself; on a laptop and on a phone, light and dark."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import violations
from tests.console.triage_scenes import inbox_to_triage, received, safety_issue_add

SCREENS = Path(__file__).resolve().parents[2] / "var" / "screens"


@pytest.fixture
def scene(library):
    safety_issue_add(library)
    return inbox_to_triage(library)


def listed(page: Page) -> list[int]:
    return [int(row.get_attribute("data-id") or 0) for row in page.locator("#inbox tr.mention").all()]


def shot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENS / f"{name}.png", full_page=True)


def row(page: Page, mention) -> object:
    return page.locator(f'#inbox tr.mention[data-id="{mention.pk}"]')


def test_the_inbox_puts_safety_and_angry_overdue_mentions_first_and_says_why(page, live_server, agent, scene):
    page.set_viewport_size({"width": 1366, "height": 800})
    sign_in(page, live_server, "sam")

    priority = [scene[name].pk for name in ("safety", "angry", "calm_old", "calm_new")]
    assert listed(page) == priority
    expect(row(page, scene["safety"]).locator(".reason-safety")).to_have_text("safety")
    expect(row(page, scene["safety"]).locator(".time-left")).to_contain_text("overdue")
    expect(row(page, scene["angry"]).locator(".reason-angry")).to_be_visible()
    expect(row(page, scene["calm_new"]).locator(".reason")).to_have_count(0)
    expect(row(page, scene["calm_new"]).locator(".time-left")).to_have_text("in 55 min")
    expect(page.locator("#id_ordering")).to_have_value("priority")
    shot(page, "priority-inbox-1366")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert violations(page) == [], scheme

    page.select_option("#id_ordering", "age")  # applies at once
    page.wait_for_url("**ordering=age**")

    assert listed(page) == [scene[name].pk for name in ("calm_old", "angry", "safety", "calm_new")]
    expect(page.locator("#id_ordering")).to_have_value("age")


def test_filters_stay_through_refreshes_and_the_tabs(page, live_server, agent, library, scene, settings):
    settings.CARELINE_CONSOLE_REFRESH_SECONDS = 1
    globex = received(
        library, "my debit card keeps getting declined at the supermarket", "gx-1", 30, "globex-bank"
    )
    sign_in(page, live_server, "sam")
    assert globex.pk in listed(page)

    page.select_option("#id_brand", "acme-air")
    page.wait_for_url("**brand=acme-air**")
    assert globex.pk not in listed(page)

    later_globex = received(
        library, "card declined again at checkout even though I have money", "gx-2", 0, "globex-bank"
    )
    later_acme = received(library, "my checked suitcase never showed up on the baggage carousel", "acme-9", 0)
    expect(row(page, later_acme)).to_have_count(1)  # the list has refreshed itself
    assert globex.pk not in listed(page) and later_globex.pk not in listed(page)
    expect(page.locator("#id_brand")).to_have_value("acme-air")

    page.locator("#tab-unassigned").click()
    page.wait_for_url("**queue=unassigned**")
    assert "brand=acme-air" in page.url and later_globex.pk not in listed(page)

    page.select_option("#id_priority_min", "0")
    page.wait_for_url("**priority_min=0**")
    assert listed(page) == [scene[name].pk for name in ("safety", "angry", "calm_old")]


def test_the_priority_inbox_on_a_phone_in_the_dark(browser, live_server, agent, scene):
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark", is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, live_server, "sam")
        assert listed(page)[:2] == [scene["safety"].pk, scene["angry"].pk]
        expect(row(page, scene["safety"]).locator(".reason-safety")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways: {width} px"
        assert violations(page) == []
        shot(page, "priority-inbox-390-dark")
    finally:
        context.close()
