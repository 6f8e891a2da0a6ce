"""Serving another embedding model: the index is rebuilt as a new version by that model, and no
version ever holds vectors of two models, even when both have the same dimension."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from suggestions.embedder import use_embedder
from suggestions.index_store import IndexModelMismatch, IndexStore
from suggestions.indexing import index_sync, library_snapshot
from suggestions.models import IndexVersion
from suggestions.services import Mention, suggestions_for
from suggestions.serving import holder
from tests.engine_fixtures import ENGINE_DIMENSION
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.usefixtures("engine")


class OtherModel(FakeEmbedder):
    """Another model of the engine's dimension: its own name and its own vectors for a text."""

    def __init__(self) -> None:
        super().__init__(dimension=ENGINE_DIMENSION)
        self.name = "other-model@0123456789ab"

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not a single string")
        return super().encode([f"{text} other model" for text in texts])


def vectors_of(version: IndexVersion) -> dict[int, np.ndarray]:
    index, _ = IndexStore().read(version.version, expected_model=version.model)
    vectors, ids = index.vectors()
    return dict(zip(ids.tolist(), vectors, strict=True))


def test_the_index_of_the_previous_model_is_never_served_by_the_new_one(library):
    with use_embedder(OtherModel()), pytest.raises(IndexModelMismatch, match="rebuild"):
        holder.get()


def test_a_swap_to_a_model_of_the_same_dimension_rebuilds_every_vector_as_a_new_version(library):
    other = OtherModel()
    before = library.version
    with use_embedder(other):
        version = index_sync()

        assert version.kind == IndexVersion.Kind.FULL
        assert version.version != before.version
        assert (version.model, version.dimension) == (other.name, ENGINE_DIMENSION)
        texts = library_snapshot().texts
        served = vectors_of(version)
        assert set(served) == set(texts)
        expected = other.encode([texts[vector] for vector in served])
        np.testing.assert_allclose(np.vstack(list(served.values())), expected, atol=1e-6)
        assert holder.get().version == version.version
        answer = suggestions_for(mention=Mention(text="the airline lost my luggage"))
        assert answer.suggestions[0].issue["key"] == "lost-baggage"
        # The previous model's version stays on disk, refused by the model now in use.
        with pytest.raises(IndexModelMismatch):
            IndexStore().read(before.version, expected_model=other.name)


def test_swapping_back_rebuilds_again_rather_than_reusing_a_version_of_the_other_model(library):
    with use_embedder(OtherModel()):
        swapped = index_sync()

    back = index_sync()  # the original (fake) model again

    assert back.kind == IndexVersion.Kind.FULL
    assert back.version not in (swapped.version, library.version.version)
    assert back.model == library.version.model
    assert holder.get().version == back.version
