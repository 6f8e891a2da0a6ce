"""Replaying the library's phrasings as noisy mentions when the calibration is fitted: the same
library always gives the same perturbed texts, and the extra encoding stays within its budget."""

from __future__ import annotations

import random

import numpy as np

from suggestions.perturbation import mention_perturb, topics_joined
from suggestions.ranking import calibration_fit
from tests.fakes import FakeEmbedder

TOPICS = [
    "bag", "refund", "seat", "delay", "crew", "wifi", "meal", "pet", "visa", "upgrade", "points", "gate",
]  # fmt: skip


def phrasings() -> tuple[list[str], np.ndarray]:
    """Six phrasings for each of twelve topics: the topic's own words plus some shared filler."""
    texts, labels = [], []
    for issue, topic in enumerate(TOPICS):
        for variant in range(6):
            texts.append(f"my {topic} problem {topic}{variant % 3} is about the {topic} again {variant}")
            labels.append(issue + 100)
    return texts, np.array(labels, dtype=np.int64)


def test_the_same_seed_rewrites_a_phrasing_the_same_way_and_another_seed_differently():
    text = "my suitcase never arrived in Boston"
    first = [mention_perturb(text, rng=random.Random(seed)) for seed in range(20)]
    again = [mention_perturb(text, rng=random.Random(seed)) for seed in range(20)]
    assert first == again
    assert len(set(first)) > 10
    assert all(rewritten != text for rewritten in first)


def test_two_topics_joined_keep_both_phrasings():
    joined = topics_joined("My bag is lost.", "The seat was broken", rng=random.Random(1))
    assert joined.startswith("My bag is lost") and joined.endswith("the seat was broken")


def test_the_perturbed_replay_encodes_at_most_its_budget_once_and_fits_the_same_twice():
    texts, labels = phrasings()
    embedder = FakeEmbedder()
    vectors = embedder.encode(texts)
    queryable = np.ones(len(texts), dtype=bool)
    batches: list[list[str]] = []

    def encode(batch: list[str]) -> np.ndarray:
        batches.append(list(batch))
        return embedder.encode(batch)

    first = calibration_fit(vectors, labels, queryable, texts=texts, encode=encode, perturbed=25)
    second = calibration_fit(vectors, labels, queryable, texts=texts, encode=encode, perturbed=25)
    assert first is not None and first == second
    assert [len(batch) for batch in batches] == [25, 25]
    assert batches[0] == batches[1]
    assert not set(batches[0]) & set(texts)  # every one rewritten
    clean = calibration_fit(vectors, labels, queryable)
    assert clean is not None and clean != first  # the noisy replays count in the fit


def test_no_budget_means_no_extra_encoding():
    texts, labels = phrasings()
    vectors = FakeEmbedder().encode(texts)

    def encode(batch: list[str]) -> np.ndarray:
        raise AssertionError("nothing should be encoded")

    assert calibration_fit(vectors, labels, np.ones(len(texts), dtype=bool), texts=texts, encode=encode)
