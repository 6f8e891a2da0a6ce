"""Reads about the suggestion engine."""

from __future__ import annotations

from typing import Any

from suggestions.indexing import active_version, library_snapshot
from suggestions.models import IndexRebuildRequest, IndexVersion


def index_status() -> dict[str, Any]:
    """The active index version, its size, and whether it holds the library as it is now."""
    version = active_version()
    digest = library_snapshot().digest
    recent = IndexVersion.objects.all()[:5]
    return {
        "version": version.version if version else None,
        "model": version.model if version else None,
        "count": version.count if version else 0,
        "built_at": version.activated_at if version else None,
        "library_digest": digest,
        "fresh": bool(version and version.library_digest == digest),
        "recent": [
            {
                "version": item.version,
                "kind": item.kind,
                "count": item.count,
                "added": item.added,
                "removed": item.removed,
                "took_ms": round(item.took_ms, 1),
                "activated_at": item.activated_at,
            }
            for item in recent
        ],
    }


def rebuild_status() -> dict[str, Any] | None:
    """The newest rebuild request: whether it waits, runs or is done, and how far it got."""
    request = IndexRebuildRequest.objects.select_related("version").first()
    if request is None:
        return None
    progress = request.progress or {}
    return {
        "request": request.pk,
        "status": request.status,
        "requested_at": request.requested_at,
        "step": progress.get("step"),
        "done": progress.get("done", 0),
        "total": progress.get("total"),
        "steps": progress.get("steps", []),
        "version": request.version.version if request.version else None,
    }
