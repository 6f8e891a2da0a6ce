"""A mention the engine abstained on, in the browser: its ranked drafts are folded under
"Nothing fits well — closest drafts"; the agent unfolds them with one key, picks the first and
sends it like any draft. Nothing on the page comes from anywhere but the console itself."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from console.models import Mention
from suggestions.models import Feedback
from tests.browser.conftest import screenshot, sign_in

DM_FOR_JANE = (
    "Jane, so sorry your bag hasn't arrived. Please DM us your bag tag number and we'll trace it. ^SL"
)


@pytest.fixture
def doubted(settings, receive) -> Mention:
    """The luggage mention, abstained on (nothing reaches the threshold of 1) with its drafts ranked."""
    settings.CARELINE_ABSTAIN_THRESHOLD = 1.0
    mention = receive("@AcmeAir the airline lost my luggage")
    assert mention.suggestion.abstained
    assert mention.suggestion.candidates[0]["response"] == "lost-baggage-dm"
    return mention


def test_an_agent_unfolds_the_closest_drafts_with_a_key_and_sends_one(page, live_server, agent, doubted):
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(live_server.url) else elsewhere.append(request.url),
    )
    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/mentions/{doubted.pk}/")

    fold = page.locator("details#closest-drafts")
    expect(fold.locator("summary")).to_contain_text("Nothing fits well — closest drafts")
    expect(fold.locator("summary kbd")).to_have_text("c")
    first = fold.locator("form.draft").first
    expect(first.locator("textarea[name=text]")).to_be_hidden()  # folded away
    expect(fold.locator(".low-confidence").first).to_contain_text("low confidence")
    confidence = f"{doubted.suggestion.candidates[0]['confidence']:.2f}"
    expect(first.locator(".meta")).to_contain_text(f"confidence {confidence}")

    page.keyboard.press("c")

    text = first.locator("textarea[name=text]")
    expect(text).to_be_visible()
    expect(text).to_be_focused()
    expect(text).to_have_value(DM_FOR_JANE)
    expect(first.locator(".char-count")).to_have_text(re.compile(r"^\s*\d+\s*/\s*280\s*$"))
    screenshot(page, "console-closest-drafts")

    page.keyboard.press("Control+Enter")

    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator(".messages .success")).to_contain_text("Marked sent")
    doubted.refresh_from_db()
    assert (doubted.status, doubted.reply_text) == (Mention.Status.ANSWERED, DM_FOR_JANE)
    feedback = Feedback.objects.get(request=doubted.suggestion)
    assert (feedback.response.key, feedback.action, feedback.given_by) == (
        "lost-baggage-dm",
        Feedback.Action.ACCEPTED,
        agent,
    )
    assert elsewhere == []  # works offline: every asset is the console's own
