from __future__ import annotations

import pytest

from kb.signals import library_changed


@pytest.fixture
def announcements():
    """The issue-id sets `library_changed` is sent with, in order."""
    received: list[frozenset[int]] = []

    def record(sender, issue_ids, **kwargs):
        received.append(issue_ids)

    # Only this receiver: the suggestion index subscribes too, and these tests are about the library.
    others = library_changed.receivers
    library_changed.receivers = []
    library_changed.connect(record, weak=False)
    yield received
    library_changed.receivers = others
