"""Fixtures shared by the insights tests."""

from __future__ import annotations

import numpy as np
import pytest

from suggestions.indexing import TITLE_ID_BASE
from suggestions.serving import ServedIndex, holder
from suggestions.vector_index import VectorIndex
from tests.factories import BrandFactory, ExampleFactory, IssueFactory


def serve(monkeypatch, vectors: dict[int, list[float]]) -> None:
    """Serve an index holding exactly these vectors (unit length) under these ids."""
    index = VectorIndex(3)
    index.index(np.array(list(vectors.values()), dtype=np.float32), np.array(list(vectors), dtype=np.int64))
    monkeypatch.setattr(holder, "get", lambda: ServedIndex("designed", index, {}))


@pytest.fixture
def designed(monkeypatch):
    """Two Acme issues and a Globex one. `stray` (in `baggage`) is 0.36 from its nearest sibling
    but 0.80 from `card`, an example of `delay`; `bag` is 1.0 from the Globex title, which never
    answers Acme's mentions."""
    acme, globex = (
        BrandFactory(key="acme-air"),
        BrandFactory(key="globex-bank", name="Globex", handle="@Globex"),
    )
    baggage, delay = IssueFactory(brand=acme), IssueFactory(brand=acme)
    bank = IssueFactory(brand=globex)
    bag = ExampleFactory(issue=baggage, text="my bag is lost")
    suitcase = ExampleFactory(issue=baggage, text="suitcase missing")
    stray = ExampleFactory(issue=baggage, text="the flight left without my bag")
    card = ExampleFactory(issue=delay, text="my flight is delayed")
    late = ExampleFactory(issue=delay, text="departure late again")
    serve(
        monkeypatch,
        {
            bag.pk: [1, 0, 0],
            suitcase.pk: [0.8, 0.6, 0],
            stray.pk: [0, 0.6, 0.8],
            card.pk: [0, 0, 1],
            late.pk: [0.28, 0, 0.96],
            TITLE_ID_BASE + bank.pk: [1, 0, 0],
        },
    )
    return {"acme": acme, "globex": globex, "baggage": baggage, "delay": delay, "stray": stray, "card": card}
