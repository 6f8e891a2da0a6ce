"""The staffing page in Chromium, over a seeded week from bench.week_traffic: the arrivals
heatmap (numbers in shaded cells), agents needed against worked, the inputs and the agents."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from bench.week_traffic import BRAND_KEY, week_draw, write
from tests.browser.test_accessibility import violations

SCREENS = Path(__file__).resolve().parents[2] / "var" / "screens"


@pytest.fixture
def week(db):
    """Last week's traffic for Synthetic Air (seed 16), as the generator writes it."""
    first_day = timezone.localdate() - timedelta(days=7)
    arrivals, names = week_draw(16, timezone.make_aware(datetime.combine(first_day, datetime.min.time())), 1)
    write(arrivals, names, replace=False, seed=16)
    return {"since": first_day, "until": first_day + timedelta(days=6), "mentions": len(arrivals)}


def sign_in_to_admin(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "edith")
    page.fill("#id_password", "password")
    page.click("[type=submit]")


def test_the_staffing_page_shows_the_heatmap_the_hours_and_the_agents(page, live_server, editor, week):
    sign_in_to_admin(page, live_server)
    page.goto(
        f"{live_server.url}/admin/insights/staffing/?brand={BRAND_KEY}"
        f"&since={week['since']}&until={week['until']}&target_minutes=5&service_level=0.8"
    )

    heatmap = page.locator("table.staffing-heatmap")
    expect(heatmap.locator("tbody tr")).to_have_count(7)
    expect(heatmap.locator("tbody tr").first.locator("td")).to_have_count(24)
    # The busiest cell carries the darkest shade and its number, readable without the colour.
    darkest = heatmap.locator("td.shade-9")
    expect(darkest.first).to_have_text(re.compile(r"^\d+(\.\d)?$"))
    expect(page.locator(".staffing-inputs")).to_contain_text(f"{week['mentions']}")
    expect(page.locator(".staffing-inputs")).to_contain_text("5 min")
    expect(page.locator(".staffing-inputs")).to_contain_text("80%")
    hours = page.locator("table.staffing-hours tbody tr")
    expect(hours.first).to_be_visible()
    assert hours.count() > 100
    expect(page.locator("table.staffing-agents")).to_contain_text("shift-agent-01")
    # Chart.js drew the chart of agents needed against worked.
    expect(page.locator("#staffing-chart")).to_have_attribute("style", re.compile("height"))

    SCREENS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.screenshot(path=SCREENS / f"staffing-{scheme}.png", full_page=True)
        page.screenshot(path=SCREENS / f"staffing-{scheme}-top.png")
        assert [found for found in violations(page) if not found.startswith("region")] == [], scheme
