from __future__ import annotations

from tests.engine_fixtures import (  # noqa: F401  (fixtures)
    agent_client,
    anonymous_client,
    author_client,
    editor_client,
    engine,
    fake_embedder,
    library,
    served_index,
    unindexed_library,
)
