"""Working one mention in the console: send a draft as suggested or edited, say nothing fits and
write an own reply, dismiss it, and see who already has it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from console.models import Mention
from suggestions.models import Feedback
from tests.browser.conftest import open_tab, screenshot, sign_in

# lost-baggage-dm as Sam sees it: for Jane, signed with his initials.
DM_FOR_JANE = (
    "Jane, so sorry your bag hasn't arrived. Please DM us your bag tag number and we'll trace it. ^SL"
)
EDITED = "Jane, so sorry your bag is missing. Please DM us your bag tag number and we will trace it. ^SL"

# The own-reply form is a draft too, one the agent writes; the closest drafts folded away when the
# engine abstained are not suggestions.
SUGGESTED_DRAFTS = "form.draft:not(#own-reply):not(#closest-drafts form)"


def count(length: int) -> re.Pattern[str]:
    """The live character count as a draft shows it, e.g. "131 / 280" on Twitter."""
    return re.compile(rf"^\s*{length}\s*/\s*280\s*$")


def open_from_inbox(page, live_server, mention):
    page.locator(f'#inbox tr.mention[data-id="{mention.pk}"] a.open').click()
    page.wait_for_url(f"{live_server.url}/mentions/{mention.pk}/")


def back_on_the_inbox_without(page, live_server, mention):
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator(".messages .success")).to_be_visible()
    open_tab(page, "open")
    expect(page.locator(f'#inbox tr.mention[data-id="{mention.pk}"]')).to_have_count(0)


def test_an_agent_edits_the_first_draft_and_marks_it_sent(page, live_server, agent, luggage):
    first = luggage.suggestion.shown[0]
    sign_in(page, live_server, "sam")
    expect(page.locator(f'#inbox tr.mention[data-id="{luggage.pk}"]')).to_be_visible()

    open_from_inbox(page, live_server, luggage)
    expect(page.locator("#mention-text")).to_have_text(re.compile("the airline lost my luggage"))
    draft = page.locator(SUGGESTED_DRAFTS).first
    expect(draft.locator("textarea[name=text]")).to_have_value(DM_FOR_JANE)
    # Counted as the channel counts the reply (the customer's @handle too): by what is typed.
    handle = first["length"] - len(first["text"])
    expect(draft.locator(".char-count")).to_have_text(count(handle + len(DM_FOR_JANE)))
    expect(draft.locator("button.copy")).to_be_visible()
    screenshot(page, "console-mention")

    draft.locator("textarea[name=text]").fill(EDITED)
    expect(draft.locator(".char-count")).to_have_text(count(handle + len(EDITED)))
    draft.locator("button.send").click()

    back_on_the_inbox_without(page, live_server, luggage)
    luggage.refresh_from_db()
    assert (luggage.status, luggage.reply_text, luggage.closed_by) == (Mention.Status.ANSWERED, EDITED, agent)
    feedback = Feedback.objects.get(request=luggage.suggestion)
    assert (feedback.response.key, feedback.action, feedback.final_text, feedback.given_by) == (
        "lost-baggage-dm",
        Feedback.Action.EDITED,
        EDITED,
        agent,
    )


def test_a_draft_sent_as_suggested_is_recorded_as_accepted(page, live_server, agent, luggage):
    sign_in(page, live_server, "sam")
    open_from_inbox(page, live_server, luggage)
    draft = page.locator(SUGGESTED_DRAFTS).first
    expect(draft.locator("textarea[name=text]")).to_have_value(DM_FOR_JANE)
    draft.locator("button.send").click()

    back_on_the_inbox_without(page, live_server, luggage)
    luggage.refresh_from_db()
    assert (luggage.status, luggage.reply_text) == (Mention.Status.ANSWERED, DM_FOR_JANE)
    feedback = Feedback.objects.get(request=luggage.suggestion)
    assert (feedback.response.key, feedback.action) == ("lost-baggage-dm", Feedback.Action.ACCEPTED)


def test_nothing_fits_rejects_every_draft_and_the_agent_sends_an_own_reply(page, live_server, agent, luggage):
    shown = [item["response"] for item in luggage.suggestion.shown]
    own = "Hi Jane, our baggage desk at the airport will call you today."
    sign_in(page, live_server, "sam")
    open_from_inbox(page, live_server, luggage)
    expect(page.locator(SUGGESTED_DRAFTS)).to_have_count(len(shown))
    expect(page.locator("form#own-reply")).to_be_hidden()

    page.click("#nothing-fits")

    expect(page.locator("form#own-reply")).to_be_visible()
    page.wait_for_load_state("networkidle")  # in case the page told the server in the background
    rejected = Feedback.objects.filter(request=luggage.suggestion)
    assert sorted(rejected.values_list("response__key", "action", "given_by")) == sorted(
        (key, Feedback.Action.REJECTED, agent.pk) for key in shown
    )
    luggage.refresh_from_db()
    assert luggage.nothing_fits_at is not None
    assert luggage.is_open

    page.locator("form#own-reply textarea[name=text]").fill(own)
    page.locator("form#own-reply button.send").click()

    back_on_the_inbox_without(page, live_server, luggage)
    luggage.refresh_from_db()
    assert (luggage.status, luggage.reply_text) == (Mention.Status.ANSWERED, own)
    assert set(rejected.values_list("action", flat=True)) == {Feedback.Action.REJECTED}


def test_an_agent_dismisses_a_mention_nothing_could_answer(page, live_server, agent, receive):
    gardening = receive("what a lovely sunny day for gardening")
    assert gardening.suggestion.abstained
    sign_in(page, live_server, "sam")
    open_from_inbox(page, live_server, gardening)
    expect(page.locator("#mention-text")).to_have_text(re.compile("lovely sunny day"))
    expect(page.locator(SUGGESTED_DRAFTS)).to_have_count(0)
    expect(page.locator("form#own-reply")).to_be_visible()

    reason = page.locator("form#dismiss select[name=reason]")
    option = reason.locator("option:not([value=''])").first
    value, label = option.get_attribute("value"), option.inner_text().strip()
    reason.select_option(value)
    page.locator("form#dismiss [type=submit]").click()

    back_on_the_inbox_without(page, live_server, gardening)
    gardening.refresh_from_db()
    assert (gardening.status, gardening.closed_by) == (Mention.Status.DISMISSED, agent)
    assert gardening.dismiss_reason in (value, label)


def test_a_second_agent_sees_who_took_the_mention(new_page, live_server, agent, other_agent, luggage):
    sams = new_page()
    sign_in(sams, live_server, "sam")
    open_from_inbox(sams, live_server, luggage)
    sams.click("#take")
    expect(sams.locator("#take")).to_be_hidden()
    luggage.refresh_from_db()
    assert (luggage.status, luggage.assigned_to) == (Mention.Status.ASSIGNED, agent)

    olgas = new_page()
    sign_in(olgas, live_server, "olga")
    expect(olgas.locator(f'tr.mention[data-id="{luggage.pk}"] .assignee')).to_contain_text("Sam")
    open_from_inbox(olgas, live_server, luggage)

    expect(olgas.locator(".held-by")).to_contain_text("Sam Lee has this mention")
    expect(olgas.locator("#take")).to_be_visible()
    screenshot(olgas, "console-mention-held-by-another")


def test_escape_leaves_a_draft_and_a_second_escape_goes_back_to_the_inbox(page, live_server, agent, luggage):
    sign_in(page, live_server, "sam")
    open_from_inbox(page, live_server, luggage)
    page.keyboard.press("1")
    textarea = page.locator(SUGGESTED_DRAFTS).first.locator("textarea[name=text]")
    expect(textarea).to_be_focused()

    page.keyboard.press("Escape")

    expect(textarea).not_to_be_focused()
    assert page.url == f"{live_server.url}/mentions/{luggage.pk}/"
    page.keyboard.press("Escape")
    page.wait_for_url(f"{live_server.url}/")
