"""An editor typing a response sees its preview and length follow the text, before saving."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot


def test_the_preview_and_its_length_follow_the_text_as_typed(page, live_server, editor):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "edith")
    page.fill("#id_password", "password")
    page.click("[type=submit]")
    page.goto(f"{live_server.url}/admin/kb/response/add/")
    page.select_option("#id_channel", "twitter")
    preview = page.locator("#kb-preview")

    page.fill("#id_text", "Hi {{ customer_name }}, so sorry!")

    expect(preview).to_contain_text("so sorry!")
    expect(preview).to_contain_text(re.compile(r"\d+ characters of 280 allowed on Twitter / X — fits"))
    page.fill("#id_text", "Hi {{ customer_name }}, " + "so very sorry " * 25)
    expect(preview).to_contain_text("too long")
    screenshot(page, "admin-response-live-preview")
    page.select_option("#id_channel", "email")
    expect(preview).to_contain_text("(no limit) on Email — fits")
