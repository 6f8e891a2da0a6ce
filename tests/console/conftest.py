from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _never_the_real_model(request):
    """Inbox tests answer with the fake embedder and a clean served index, always."""
    request.getfixturevalue("engine")
