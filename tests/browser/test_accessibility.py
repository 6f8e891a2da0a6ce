"""The console checked by axe-core (tests/browser/vendor/, MPL-2.0, served from this folder, never
a CDN) on each page an agent uses, in the light and the dark colour scheme; and what axe cannot
see: the inbox reached with Tab and opened with Enter, new mentions and drafts announced."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from console.models import Mention
from console.services import mention_suggest
from tests.browser.conftest import HERE, awaiting_drafts, screenshot, sign_in

AXE = HERE / "vendor" / "axe-4.14.1.min.js"


def violations(page: Page) -> list[str]:
    """What axe-core finds on the page as it is now: one line per rule, its impact and where."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=AXE)
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
             .map((rule) => `${rule.id} (${rule.impact}): ${rule.nodes.length} at `
                            + rule.nodes.slice(0, 3).map((node) => node.target.join(" ")).join(", "))"""
    )
    return list(found)


def assert_accessible(page: Page, name: str) -> None:
    """No axe violation in either colour scheme; a screenshot of each as test-output/<name>-<scheme>.png."""
    found = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        screenshot(page, f"{name}-{scheme}")
        found[scheme] = violations(page)
    assert found == {"light": [], "dark": []}, name


@pytest.fixture
def doubted(settings, receive) -> Mention:
    """The luggage mention, abstained on (nothing reaches the threshold of 1), its drafts ranked."""
    settings.CARELINE_ABSTAIN_THRESHOLD = 1.0
    mention = receive("@AcmeAir the airline lost my luggage")
    assert mention.suggestion.abstained and mention.suggestion.candidates
    return mention


def test_the_login_page_passes_axe(page, live_server):
    page.goto(f"{live_server.url}/login/")

    assert_accessible(page, "a11y-login")


def test_the_inbox_passes_axe(page, live_server, agent, receive):
    receive("@AcmeAir the airline lost my luggage", minutes_ago=90)
    receive("@AcmeAir my flight got cancelled and nobody can rebook me", minutes_ago=10)
    sign_in(page, live_server, "sam")

    assert_accessible(page, "a11y-inbox")


def test_a_mention_with_drafts_passes_axe(page, live_server, agent, editor, luggage):
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{luggage.pk}/")
    page.locator("#escalate summary").click()  # its form, too

    assert_accessible(page, "a11y-mention")


def test_an_abstained_mention_with_its_closest_drafts_passes_axe(page, live_server, agent, doubted):
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{doubted.pk}/")
    page.keyboard.press("c")
    expect(page.locator("#closest-drafts textarea").first).to_be_focused()

    assert_accessible(page, "a11y-mention-abstained")


def test_the_paste_box_and_its_drafts_pass_axe(page, live_server, agent, library, settings):
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/paste/")
    assert_accessible(page, "a11y-paste-empty")

    page.get_by_label("Mention").fill("@AcmeAir the airline lost my luggage")
    page.get_by_role("button", name="Suggest").click()
    expect(page.locator("form.draft.pasted").first).to_be_visible()

    assert_accessible(page, "a11y-paste-drafts")


def relative_luminance(page: Page, selector: str, prop: str) -> float:
    """WCAG's relative luminance of an element's computed colour (0 black, 1 white)."""
    rgb = page.evaluate(f"getComputedStyle(document.querySelector({selector!r})).{prop}")
    channels = [int(part) / 255 for part in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_the_console_follows_the_systems_dark_scheme(page, live_server, agent, luggage):
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{luggage.pk}/")

    page.emulate_media(color_scheme="light")
    assert relative_luminance(page, "body", "backgroundColor") > 0.8
    assert relative_luminance(page, "form.draft textarea", "backgroundColor") > 0.8
    page.emulate_media(color_scheme="dark")
    assert relative_luminance(page, "body", "backgroundColor") < 0.05
    assert relative_luminance(page, "form.draft textarea", "backgroundColor") < 0.05
    assert relative_luminance(page, "form.draft textarea", "color") > 0.6


def test_every_text_box_and_select_has_a_label(page, live_server, agent, luggage):
    sign_in(page, live_server, "sam")
    expect(page.get_by_label("Paste a mention")).to_be_visible()  # the inbox's paste box

    page.goto(f"{live_server.url}/mentions/{luggage.pk}/")
    first = page.locator("form.draft").first
    expect(first.get_by_label(re.compile(r"^Draft 1\b"))).to_have_value(re.compile(r"^Jane, "))
    expect(page.get_by_label("Why no reply is needed")).to_have_value("")

    page.goto(f"{live_server.url}/paste/")
    for name in ("Mention", "Brand", "Channel", "Customer's name"):
        expect(page.get_by_label(name, exact=True)).to_be_visible()


def test_the_inbox_rows_are_reached_with_tab_and_opened_with_enter(page, live_server, agent, receive):
    # Most urgent first: the angry cancellation, then the older lost luggage.
    second = receive("@AcmeAir the airline lost my luggage", minutes_ago=30)
    receive("@AcmeAir my flight got cancelled and nobody can rebook me", minutes_ago=10)
    sign_in(page, live_server, "sam")
    page.locator("#inbox-filters button[type=submit]").focus()  # the last control before the list

    page.keyboard.press("Tab")
    page.keyboard.press("Tab")

    link = page.locator(f'#inbox tr.mention[data-id="{second.pk}"] a.open')
    expect(link).to_be_focused()
    # The focus shows: a ring drawn around the link, and the row is the selected one.
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    expect(page.locator("#inbox tr.selected")).to_have_attribute("data-id", str(second.pk))
    screenshot(page, "a11y-inbox-tab-focus")

    page.keyboard.press("Enter")

    page.wait_for_url(f"{live_server.url}/mentions/{second.pk}/")


@pytest.fixture
def _refresh_every_second(settings):
    settings.CARELINE_CONSOLE_REFRESH_SECONDS = 1


@pytest.mark.usefixtures("_refresh_every_second")
def test_a_row_keeps_the_focus_when_the_inbox_refreshes(page, live_server, agent, receive):
    mention = receive("@AcmeAir the airline lost my luggage", minutes_ago=30)
    sign_in(page, live_server, "sam")
    link = page.locator(f'#inbox tr.mention[data-id="{mention.pk}"] a.open')
    link.focus()
    page.evaluate("document.getElementById('inbox').dataset.before = 'yes'")

    # The table is swapped for a new one: the mark on the old one is gone, the focus is not.
    expect(page.locator("#inbox[data-before]")).to_have_count(0, timeout=5_000)
    expect(link).to_be_focused()


@pytest.mark.usefixtures("_refresh_every_second")
def test_take_it_keeps_the_focus_when_its_part_refreshes(page, live_server, agent, luggage):
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{luggage.pk}/")
    page.locator("#take").focus()
    page.evaluate("document.getElementById('take').dataset.before = 'yes'")

    expect(page.locator("#take[data-before]")).to_have_count(0, timeout=5_000)
    expect(page.locator("#take")).to_be_focused()


@pytest.mark.usefixtures("_refresh_every_second")
def test_a_new_mention_in_the_open_inbox_is_announced(page, live_server, agent, receive):
    receive("@AcmeAir my flight got cancelled", minutes_ago=30)
    sign_in(page, live_server, "sam")
    status = page.locator("[aria-live=polite]#announcer")
    expect(status).to_be_attached()
    page.wait_for_timeout(1500)  # a refresh with nothing new says nothing
    expect(status).to_have_text("")

    receive("@AcmeAir the airline lost my luggage")

    expect(status).to_have_text("1 new mention in the inbox.")


@pytest.mark.usefixtures("_refresh_every_second")
def test_drafts_arriving_on_a_mention_are_announced(page, live_server, agent, library):
    waiting = awaiting_drafts(library, "announced-drafts")
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{waiting.pk}/")
    expect(page.locator("#drafts .pending")).to_be_visible()
    status = page.locator("[aria-live=polite]#announcer")
    expect(status).to_have_text("")

    mention_suggest(mention_id=waiting.pk)

    expect(page.locator("form.draft").first).to_be_visible()
    drafts = page.locator("#drafts form.draft:not(#own-reply)").count()
    expect(status).to_have_text(f"{drafts} draft{'s' if drafts != 1 else ''} ready.")
