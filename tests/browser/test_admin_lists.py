"""The library's change lists show every column on a 1366 px screen, beside the filters: long
keys, titles and brand names wrap inside their cells instead of pushing columns out of view."""

from __future__ import annotations

import pytest

from kb import services
from tests.browser.conftest import screenshot

LISTS = ["/admin/kb/issue/", "/admin/kb/response/", "/admin/kb/example/"]


@pytest.fixture
def long_named_library(db):
    brand = services.brand_create(key="acme-air", name="Acme Air International Airways", handle="@AcmeAir")
    for number in range(3):
        issue = services.issue_create(
            key=f"booking-reference-shared-publicly-by-the-customer-{number}",
            title="Customer posted a booking code or other personal data publicly on the timeline",
            brand=brand,
        )
        services.example_create(
            issue=issue, text="I just tweeted my booking reference by mistake, can you hide it please"
        )
        services.response_create(
            issue=issue,
            key=f"booking-reference-shared-publicly-by-the-customer-{number}-twitter",
            channel="twitter",
            status="approved",
            text="Hi {{ customer_first_name }}, please delete that tweet and DM us: we will help.",
        )


@pytest.mark.parametrize("path", LISTS)
def test_every_column_is_in_view_at_1366_px(page, live_server, editor, long_named_library, path):
    page.set_viewport_size({"width": 1366, "height": 800})
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "edith")
    page.fill("#id_password", "password")
    page.click("[type=submit]")
    page.goto(f"{live_server.url}{path}")

    table, room = page.evaluate(
        "[document.querySelector('#result_list').scrollWidth,"
        " document.querySelector('#changelist-form .results').clientWidth]"
    )
    screenshot(page, "admin-list-1366-" + path.strip("/").replace("/", "-"))
    assert table <= room, f"{path}: the table is {table} px wide in {room} px: columns scroll out of view"
    last_header = page.locator("#result_list thead th").last
    box = last_header.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1366
