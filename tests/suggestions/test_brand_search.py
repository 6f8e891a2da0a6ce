"""A brand's mention is searched among the vectors that may answer that brand, inside the index
search, rather than among everyone's and filtered afterwards."""

from __future__ import annotations

import numpy as np
import pytest

from suggestions.indexing import issue_of_title
from suggestions.retrieval import issues_matching
from suggestions.serving import holder
from tests.engine_fixtures import ISSUES

pytestmark = pytest.mark.usefixtures("engine")


def brand_issue_keys(library, brand_key: str) -> set[str]:
    return {
        key for key, spec in ISSUES.items() if spec["brand"] in (brand_key, None) and key in library.issues
    }


def vector_issue(library, vector: int) -> int:
    title = issue_of_title(vector)
    if title is not None:
        return title
    return next(example.issue_id for example in library.examples.values() if example.pk == vector)


def test_a_brand_finds_its_issues_even_when_every_nearest_vector_is_another_brands(library, fake_embedder):
    query = fake_embedder.encode(["my flight got cancelled and nobody at the gate can rebook me"])[0]
    served = holder.get()
    globex = library.brands["globex-bank"]
    _, nearest = served.index.search(query[None], 2)
    assert all(not served.may_answer(vector_issue(library, int(v)), globex.pk) for v in nearest[0])

    found = issues_matching(query, served, brand_id=globex.pk, depth=2)

    allowed = {library.issues[key].pk for key in brand_issue_keys(library, "globex-bank")}
    assert found and {match.issue_id for match in found} <= allowed


@pytest.mark.parametrize("brand_key", ["acme-air", "globex-bank"])
def test_a_brands_search_returns_only_vectors_that_may_answer_it(library, fake_embedder, brand_key):
    served = holder.get()
    brand = library.brands[brand_key]
    allowed_issues = {library.issues[key].pk for key in brand_issue_keys(library, brand_key)}
    among = served.vectors_for(brand.pk)

    query = fake_embedder.encode(["card declined and my bag is lost and flight cancelled"])[0]
    _, ids = served.index.search(query[None], served.index.count(), among=among)

    indexed = [int(v) for v in served.index.ids()]
    assert sorted(ids[0].tolist()) == sorted(v for v in indexed if vector_issue(library, v) in allowed_issues)
    assert 0 < among.count < served.index.count()


def test_a_brands_search_ranks_its_vectors_as_an_unrestricted_search_would(library, fake_embedder):
    served = holder.get()
    among = served.vectors_for(library.brands["acme-air"].pk)
    query = fake_embedder.encode(["my suitcase never showed up"])[0]

    scores, ids = served.index.search(query[None], 5, among=among)
    _, allowed = served.index.search(query[None], served.index.count(), among=among)
    all_scores, all_ids = served.index.search(query[None], served.index.count())

    keep = np.isin(all_ids[0], allowed[0])
    np.testing.assert_array_equal(ids[0], all_ids[0][keep][:5])
    np.testing.assert_allclose(scores[0], all_scores[0][keep][:5], rtol=1e-6)


def test_a_mention_without_a_brand_is_not_restricted(library):
    assert holder.get().vectors_for(None) is None
