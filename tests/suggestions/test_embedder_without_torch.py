"""A process whose ONNX graph was exported and checked before (a web worker on a machine that has
started once) encodes mentions without importing torch, and still matches torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from suggestions.embedder import SentenceTransformerEmbedder, model_location
from suggestions.onnx_encoder import RECORD_SUFFIX, OnnxMentionEncoder

ROOT = Path(__file__).resolve().parents[2]
MENTIONS = ["my flight got cancelled and nobody can rebook me", "where is my bag", "refund?? " * 3]
ENCODE_WITHOUT_TORCH = """
import json, sys
import django
django.setup()
from suggestions.embedder import get_embedder
embedder = get_embedder()
one = embedder.encode([sys.argv[1]])
batch = embedder.encode(json.loads(sys.argv[2]) * 5)  # a web worker's batch of 15
print(json.dumps({"torch": "torch" in sys.modules, "one": one.tolist(), "batch": batch.tolist()}))
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A model cache where a process with torch exported, checked and recorded the graph."""
    cache = tmp_path_factory.mktemp("models")
    path, name = model_location("")
    embedder = SentenceTransformerEmbedder(path, name=name, onnx_cache=cache)
    assert embedder._onnx is not None
    return cache, embedder


@pytest.mark.model
def test_a_worker_started_from_a_recorded_graph_encodes_without_torch_and_matches_it(recorded):
    cache, with_torch = recorded
    env = {**os.environ, "CARELINE_ONNX_DIR": str(cache), "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", ENCODE_WITHOUT_TORCH, MENTIONS[0], json.dumps(MENTIONS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])

    assert answer["torch"] is False
    torch_only = with_torch._model.encode(MENTIONS, normalize_embeddings=True)
    np.testing.assert_allclose(answer["one"], torch_only[:1], atol=1e-5)
    np.testing.assert_allclose(answer["batch"], np.vstack([torch_only] * 5), atol=1e-5)


@pytest.mark.model
def test_a_recorded_graph_that_no_longer_reproduces_torch_is_not_used(recorded, tmp_path):
    cache, with_torch = recorded
    for item in cache.iterdir():
        (tmp_path / item.name).write_bytes(item.read_bytes())
    record_path = tmp_path / f"{with_torch.name}{RECORD_SUFFIX}"
    assert OnnxMentionEncoder.load_recorded(cache_dir=tmp_path, name=with_torch.name, threads=1) is not None

    record = json.loads(record_path.read_text())
    record["probes"][0][0] += 0.01  # torch's vectors are no longer what the graph gives
    record_path.write_text(json.dumps(record))

    assert OnnxMentionEncoder.load_recorded(cache_dir=tmp_path, name=with_torch.name, threads=1) is None
    record_path.unlink()
    assert OnnxMentionEncoder.load_recorded(cache_dir=tmp_path, name=with_torch.name, threads=1) is None
