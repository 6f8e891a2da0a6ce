from __future__ import annotations

import pytest

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


@pytest.fixture(autouse=True)
def _never_the_real_model(request):
    """API tests answer with the fake embedder and a clean served index, always."""
    request.getfixturevalue("engine")
