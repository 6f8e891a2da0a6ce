"""The rebuild requests in the admin: a button to ask for one, and the newest one's progress,
refreshing itself (htmx) while it waits or runs."""

from __future__ import annotations

import pytest
from django.utils import timezone

from suggestions.models import IndexRebuildRequest

REBUILDS = "/admin/suggestions/indexrebuildrequest/"


@pytest.fixture
def editor_browser(client, editor):
    client.force_login(editor)
    return client


def test_the_admin_rebuild_button_runs_a_rebuild_and_lists_its_steps(library, editor_browser):
    answer = editor_browser.post(REBUILDS + "rebuild/")

    assert answer.status_code == 302
    page = editor_browser.get(REBUILDS)
    html = page.content.decode()
    rebuild = IndexRebuildRequest.objects.get()
    assert f"Rebuild #{rebuild.pk}: done" in html
    for step in ("reading the library", "encoding", "fitting the ranking", "calibrating", "writing"):
        assert step in html
    assert "hx-trigger" not in html  # nothing left to follow


def test_a_running_rebuild_shows_its_step_and_count_and_keeps_refreshing(library, editor_browser):
    IndexRebuildRequest.objects.create(
        started_at=timezone.now(),
        progress={
            "step": "encoding 40 texts",
            "done": 16,
            "total": 40,
            "steps": [{"name": "reading the library", "seconds": 0.4, "done": 0}],
        },
    )

    page = editor_browser.get(REBUILDS).content.decode()
    part = editor_browser.get(REBUILDS + "progress/", HTTP_HX_REQUEST="true").content.decode()

    for html in (page, part):
        assert "encoding 40 texts" in html and "16 of 40" in html
        assert "reading the library: 0.4 s" in html
        assert 'hx-get="/admin/suggestions/indexrebuildrequest/progress/"' in html
    assert "/static/console/vendor/htmx-2.0.11.min.js" in page
    assert "<html" not in part  # only the part, for htmx to swap in


def test_rebuilding_from_the_admin_needs_a_post(library, editor_browser):
    assert editor_browser.get(REBUILDS + "rebuild/").status_code == 405
    assert not IndexRebuildRequest.objects.exists()


def test_only_those_who_may_rebuild_see_the_button(library, client, agent):
    client.force_login(agent)

    assert client.post(REBUILDS + "rebuild/").status_code in (302, 403)
    assert not IndexRebuildRequest.objects.exists()
