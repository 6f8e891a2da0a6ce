"""The console's inbox as an agent sees it: signing in, the open mentions oldest first, what is
overdue, and the tabs."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from console.services import mention_answer, mention_take
from tests.browser.conftest import open_tab, screenshot, sign_in


def rows(page):
    return page.locator("#inbox tr.mention")


def test_an_anonymous_visitor_is_sent_to_sign_in(page, live_server):
    page.goto(f"{live_server.url}/")

    assert page.url.startswith(f"{live_server.url}/login/")
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator("#inbox")).to_have_count(0)


def test_a_wrong_password_keeps_the_agent_on_the_login_page(page, live_server, agent):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "not the password")
    page.click("button[type=submit]")

    expect(page.locator("#id_password")).to_be_visible()
    assert page.url.startswith(f"{live_server.url}/login/")


def test_the_inbox_lists_open_mentions_oldest_first_and_counts_the_overdue(page, live_server, agent, receive):
    overdue = receive("@AcmeAir the airline lost my luggage", minutes_ago=90)
    recent = receive("@AcmeAir my flight got cancelled and nobody can rebook me", minutes_ago=10)
    answered = receive("@AcmeAir still waiting for my delayed suitcase", minutes_ago=120)
    mention_answer(mention=answered, text="Please DM us your tag number.", agent=agent)

    sign_in(page, live_server, "sam")

    expect(rows(page)).to_have_count(2)
    assert [row.get_attribute("data-id") for row in rows(page).all()] == [str(overdue.pk), str(recent.pk)]
    expect(page.locator("#overdue-count")).to_have_text(re.compile(r"\b1\b"))
    first = rows(page).first
    expect(first.locator("a.open")).to_have_attribute("href", re.compile(rf"/mentions/{overdue.pk}/$"))
    expect(first.locator(".time-left")).not_to_be_empty()
    screenshot(page, "console-inbox")


def test_the_tabs_split_the_inbox_into_mine_and_unassigned(page, live_server, agent, other_agent, receive):
    mine = receive("@AcmeAir the airline lost my luggage", minutes_ago=30)
    olgas = receive("@AcmeAir my flight got cancelled and nobody can rebook me", minutes_ago=20)
    nobodys = receive("@AcmeAir the password reset email never arrives", minutes_ago=10)
    mention_take(mention=mine, agent=agent)
    mention_take(mention=olgas, agent=other_agent)

    sign_in(page, live_server, "sam")

    def listed() -> list[str | None]:
        return [row.get_attribute("data-id") for row in rows(page).all()]

    open_tab(page, "mine")
    expect(rows(page)).to_have_count(1)
    assert listed() == [str(mine.pk)]
    open_tab(page, "unassigned")
    expect(rows(page)).to_have_count(1)
    assert listed() == [str(nobodys.pk)]
    open_tab(page, "open")
    expect(rows(page)).to_have_count(3)
    # Most urgent first: the angry cancellation before the older lost luggage.
    assert listed() == [str(olgas.pk), str(mine.pk), str(nobodys.pk)]
    expect(page.locator(f'tr.mention[data-id="{olgas.pk}"] .assignee')).to_contain_text("Olga")
