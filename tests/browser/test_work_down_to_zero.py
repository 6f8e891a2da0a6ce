"""The README's walk-through: an integration pushes mentions over HTTP, an agent works them down
to zero in the console."""

from __future__ import annotations

import json
import urllib.request

from playwright.sync_api import expect

from accounts.services import token_create
from console.models import Mention
from tests.browser.conftest import screenshot, sign_in

PUSHED = [
    {"text": "@AcmeAir the airline lost my luggage", "external_id": "1861000000000000001"},
    {"text": "@AcmeAir what a lovely sunny day for gardening", "external_id": "1861000000000000002"},
]


def push(live_server, token: str, mention: dict) -> int:
    """POST /api/v1/mentions/ as the README's curl does."""
    body = json.dumps({**mention, "brand": "acme-air", "channel": "twitter", "author": {"name": "Jane"}})
    request = urllib.request.Request(
        f"{live_server.url}/api/v1/mentions/",
        data=body.encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        return answer.status


def test_pushed_mentions_are_worked_down_to_zero(page, live_server, library, agent, integration_user):
    token = token_create(user=integration_user)
    assert [push(live_server, token, mention) for mention in PUSHED] == [201, 201]
    assert push(live_server, token, PUSHED[0]) == 200  # pushed again: nothing changes
    sign_in(page, live_server, "sam")
    expect(page.locator("#inbox tr.mention")).to_have_count(2)

    page.locator("#inbox tr.mention a.open").first.click()
    page.locator("form.draft:not(#own-reply) button.send").first.click()
    expect(page.locator("#inbox tr.mention")).to_have_count(1)

    page.locator("#inbox tr.mention a.open").first.click()
    page.locator("form#own-reply textarea[name=text]").fill("Glad you're enjoying the sun, Jane! ☀️")
    page.locator("form#own-reply button.send").click()

    expect(page.locator("#inbox")).to_have_count(0)
    expect(page.get_by_text("Nothing waiting here")).to_be_visible()
    expect(page.locator("#overdue-count")).to_have_text("0")
    screenshot(page, "console-inbox-zero")
    assert set(Mention.objects.values_list("status", flat=True)) == {Mention.Status.ANSWERED}
