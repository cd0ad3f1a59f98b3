"""The real model loads once here (~0.4 s); everything else uses HashingEmbedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tokenyard.cache.config import CacheConfig
from tokenyard.cache.embedding import HashingEmbedder, MiniLMEmbedder
from tokenyard.cache.quality import LabelledPair, evaluate, load_pairs
from tokenyard.cache.shard import CacheShard
from tokenyard.errors import ConfigError


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder(threads=1, batch_size=4)


def test_minilm_vectors_are_unit_length_and_batches_agree(minilm):
    texts = ["What is the capital of France?", "Which city is France's capital?", "How do I bake bread?",
             "a much longer sentence " * 20, "x", "Convert 10 USD to EUR."]
    together = minilm.embed(texts)
    alone = np.stack([minilm.embed([t])[0] for t in texts])
    assert together.shape == (6, 384) and together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.allclose(together, alone, atol=1e-4)  # padding does not leak into the mean
    sims = together @ together.T
    assert sims[0, 1] > 0.85 and sims[0, 2] < 0.3


def test_missing_model_files_raise_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        MiniLMEmbedder(tmp_path / "none.onnx", tmp_path / "none.json")
    with pytest.raises(ConfigError, match="batch_size"):
        MiniLMEmbedder(batch_size=64)


def test_hashing_embedder_is_deterministic_and_unit_length():
    e = HashingEmbedder(64)
    a, b = e.embed(["same words here", "same words here"])
    assert np.array_equal(a, b) and np.isclose(np.linalg.norm(a), 1.0)
    assert np.isclose(np.linalg.norm(e.embed([""])[0]), 1.0)


def test_evaluate_counts_true_and_false_hits():
    pairs = [
        LabelledPair("1", "What is the capital of France?", "what is the capital of France", "hit"),
        LabelledPair("2", "What is the capital of France?", "What is the capital of Spain?", "miss"),
        LabelledPair("3", "How do I bake bread?", "Tell me about tax law.", "hit"),
    ]
    report = evaluate(pairs, lambda: CacheShard(CacheConfig()), HashingEmbedder())
    assert (report.hit_pairs, report.miss_pairs, report.true_hits, report.false_hits) == (2, 1, 1, 0)
    assert report.recall == 0.5 and report.precision == 1.0 and report.false_hit_rate == 0.0
    assert report.missed_hit_ids == ["3"]


def test_load_pairs_names_the_bad_line(tmp_path: Path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"id": "1", "a": "x", "b": "y", "label": "hit"}\n{"id": "2", "a": "x"}\n')
    with pytest.raises(ConfigError, match="pairs.jsonl:2"):
        load_pairs(path)
    path.write_text('{"id": "1", "a": "x", "b": "y", "label": "maybe"}\n')
    with pytest.raises(ConfigError, match="label must be"):
        load_pairs(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_pairs(tmp_path / "missing.jsonl")
