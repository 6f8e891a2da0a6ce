"""Concurrent encodes in one process share one call of the embedder (suggestions.batching)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from suggestions.batching import BatchingEmbedder, mention_encoder
from suggestions.embedder import use_embedder
from tests.fakes import FakeEmbedder


class GatedEmbedder(FakeEmbedder):
    """The fake embedder, recording each call's texts; while ``gate`` is closed a call waits in
    the middle of encoding, as a real model busy with a batch would."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail_with: Exception | None = None

    def encode(
        self, texts: Sequence[str], *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        self.calls.append(list(texts))
        self.entered.set()
        assert self.gate.wait(10)
        if self.fail_with is not None:
            raise self.fail_with
        return super().encode(texts, batch_size=batch_size, show_progress=show_progress)


def encode_in_thread(batching: BatchingEmbedder, texts: list[str], results: dict) -> threading.Thread:
    def run() -> None:
        try:
            results[tuple(texts)] = batching.encode(texts)
        except Exception as exc:
            results[tuple(texts)] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_until_queued(batching: BatchingEmbedder, count: int) -> None:
    for _ in range(1000):
        with batching._lock:
            if len(batching._queued) >= count:
                return
        threading.Event().wait(0.005)
    raise AssertionError(f"{count} calls never queued")


def test_a_call_alone_is_encoded_at_once_and_alone():
    inner = GatedEmbedder()
    batching = BatchingEmbedder(inner)

    vectors = batching.encode(["my bag is lost", "and my flight"])

    assert inner.calls == [["my bag is lost", "and my flight"]]
    np.testing.assert_array_equal(vectors, FakeEmbedder().encode(["my bag is lost", "and my flight"]))


def encode_while_busy(
    inner: GatedEmbedder, batching: BatchingEmbedder, first: list[str], waiting: list[list[str]]
) -> dict:
    """Encode ``first``, and while the encoder is busy with it queue each of ``waiting`` in turn;
    then let the encoder go on. Each call's result (or error), by its texts."""
    inner.gate.clear()
    results: dict = {}
    threads = [encode_in_thread(batching, first, results)]
    assert inner.entered.wait(10)
    for count, texts in enumerate(waiting, start=1):  # one by one: the queue keeps their order
        threads.append(encode_in_thread(batching, texts, results))
        wait_until_queued(batching, count)
    inner.gate.set()
    for thread in threads:
        thread.join(10)
    return results


def test_calls_arriving_while_the_encoder_is_busy_go_as_one_batch_each_with_its_own_rows():
    inner = GatedEmbedder()
    batching = BatchingEmbedder(inner)
    waiting = [["bag lost"], ["flight cancelled", "and no hotel"], ["refund please"]]

    results = encode_while_busy(inner, batching, ["first mention"], waiting)

    assert inner.calls == [
        ["first mention"],
        ["bag lost", "flight cancelled", "and no hotel", "refund please"],
    ]
    for texts in [["first mention"], *waiting]:
        np.testing.assert_array_equal(results[tuple(texts)], FakeEmbedder().encode(texts))
    assert (batching.batches, batching.texts) == (2, 5)


def test_a_batch_holds_at_most_its_limit_of_texts_and_the_rest_follow():
    inner = GatedEmbedder()
    batching = BatchingEmbedder(inner, max_batch_texts=3)
    waiting = [[f"mention {number}", f"topic {number}"] for number in range(3)]

    results = encode_while_busy(inner, batching, ["first"], waiting)

    assert [len(call) for call in inner.calls] == [1, 2, 2, 2]
    for texts in waiting:
        np.testing.assert_array_equal(results[tuple(texts)], FakeEmbedder().encode(texts))


def test_a_failed_batch_fails_each_of_its_calls_and_the_next_call_is_encoded():
    inner = GatedEmbedder()
    batching = BatchingEmbedder(inner)
    inner.fail_with = RuntimeError("model broke")

    results = encode_while_busy(inner, batching, ["first"], [["second"], ["third"]])

    assert all(isinstance(results[(text,)], RuntimeError) for text in ("first", "second", "third"))
    assert len(inner.calls) == 2
    inner.fail_with = None
    np.testing.assert_array_equal(batching.encode(["fourth"]), FakeEmbedder().encode(["fourth"]))


def test_a_rebuilds_encode_goes_straight_through():
    inner = GatedEmbedder()
    batching = BatchingEmbedder(inner, max_batch_texts=4)
    texts = [f"example {number}" for number in range(10)]

    vectors = batching.encode(texts)

    assert inner.calls == [texts]
    assert vectors.shape == (10, inner.dimension)
    assert batching.batches == 0


def test_a_bare_string_is_refused():
    with pytest.raises(TypeError):
        BatchingEmbedder(FakeEmbedder()).encode("not a list")


def test_the_mention_encoder_follows_the_embedder_in_use():
    first, second = FakeEmbedder(dimension=8), FakeEmbedder(dimension=16)
    with use_embedder(first):
        assert mention_encoder().inner is first
        assert mention_encoder() is mention_encoder()
        with use_embedder(second):
            assert mention_encoder().inner is second
            assert mention_encoder().dimension == 16
