"""Browsers ask every site for /favicon.ico; Careline has one, served from its own static files."""

from __future__ import annotations


def test_the_favicon_is_served_from_the_projects_static_files(client):
    answer = client.get("/favicon.ico")

    assert answer.status_code == 301
    icon = client.get(answer["Location"])
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file's magic
