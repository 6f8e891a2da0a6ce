"""Listening to the library: every committed change queues an index patch (then a sync)."""

from __future__ import annotations

import logging
from typing import Any

from suggestions.tasks import index_patch_task

logger = logging.getLogger(__name__)


def library_changed_queue_sync(sender: Any, issue_ids: frozenset[int], **kwargs: Any) -> None:
    """Queue a patch of the issues changed. The edit is already committed: if the broker is
    down, say so and carry on; the next sync (any later edit, or the periodic one) catches up."""
    try:
        index_patch_task.delay(sorted(issue_ids))
    except Exception:
        logger.exception(
            "Could not queue an index sync for issues %s; it will catch up later", sorted(issue_ids)
        )
