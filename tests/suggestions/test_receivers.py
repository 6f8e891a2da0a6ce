"""Library edits and the index queue: an edit is never lost because the broker is down."""

from __future__ import annotations

import logging

from kombu.exceptions import OperationalError

from kb.models import Response
from suggestions.indexing import active_version, index_sync
from suggestions.selectors import index_status


def test_edit_saves_when_the_broker_is_down_and_the_next_sync_catches_up(
    library, editor_client, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("suggestions.receivers.index_patch_task.delay", broker_down)
    response = library.responses["cancelled-flight-any"]

    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        answer = editor_client.patch(
            f"/api/v1/responses/{response.pk}/", {"status": "retired"}, format="json"
        )

    assert answer.status_code == 200
    assert Response.objects.get(pk=response.pk).status == "retired"
    assert "Could not queue an index sync" in caplog.text
    assert active_version() == library.version
    assert index_status()["fresh"] is False

    index_sync()

    assert index_status()["fresh"] is True
