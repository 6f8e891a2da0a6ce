"""The response form's preview: the reply rendered for the sample conversation and measured
against the channel's limit, for the text as typed (the admin asks while the editor types)."""

from __future__ import annotations

import pytest

from kb.rendering import SAMPLE_CONTEXT

pytestmark = pytest.mark.django_db

PREVIEW = "/admin/kb/response/preview/"


def test_the_preview_renders_the_text_as_typed_and_counts_it(client, editor):
    client.force_login(editor)

    answer = client.post(PREVIEW, {"text": "Hi {{ customer_name }}, sorry!", "channel": "facebook"})

    assert answer.status_code == 200
    html = answer.content.decode()
    reply = f"Hi {SAMPLE_CONTEXT.customer_name}, sorry!"
    assert reply in html
    assert f"{len(reply)} characters" in html and "fits" in html


def test_a_text_over_the_channels_limit_previews_as_too_long(client, editor):
    client.force_login(editor)

    html = client.post(PREVIEW, {"text": "x" * 300, "channel": "twitter"}).content.decode()

    assert "too long" in html and "kb-too-long" in html


def test_a_template_that_does_not_parse_says_why(client, editor):
    client.force_login(editor)

    html = client.post(PREVIEW, {"text": "Hi {{ full_name }}", "channel": "twitter"}).content.decode()

    assert "Does not render" in html and "Unknown template variable: full_name" in html


def test_an_unknown_channel_is_said_so(client, editor):
    client.force_login(editor)

    answer = client.post(PREVIEW, {"text": "Hi", "channel": "pigeon"})

    assert answer.status_code == 400
    assert "channel" in answer.content.decode()


def test_only_people_who_may_write_responses_may_preview(client, agent):
    client.force_login(agent)

    assert client.post(PREVIEW, {"text": "Hi", "channel": "twitter"}).status_code in (302, 403)


def test_the_form_asks_for_the_preview_as_the_editor_types(client, editor):
    client.force_login(editor)

    html = client.get("/admin/kb/response/add/").content.decode()

    assert f'hx-post="{PREVIEW}"' in html
    assert 'id="kb-preview"' in html
    assert "htmx" in html
