"""The judge reopens softly refused candidates, never typed refusals, and only when asked to."""

from __future__ import annotations

import numpy as np
import pytest

from tokenyard.cache.config import CacheConfig, RouteCacheConfig
from tokenyard.cache.embedding import MiniLMEmbedder
from tokenyard.cache.judge import JUDGED_REASONS, Judge, features, load_judge, shipped_judge
from tokenyard.cache.results import Hit, Miss
from tokenyard.cache.shard import CacheShard
from tokenyard.errors import ConfigError

from .conftest import entry_for, make_request
from .weighed_pair import NOW, unit

COSINE = 6  # in features(): 3 products, 3 differences, the cosine, then the reasons


def cosine_judge(above: float) -> Judge:
    """One tree: log-odds +5 when the pair's cosine is above ``above``, else -5."""
    return Judge(
        feature=np.array([[COSINE, -1, -1]], dtype=np.int32),
        threshold=np.array([[above, 0, 0]], dtype=np.float32),
        left=np.array([[1, 0, 0]], dtype=np.int32),
        right=np.array([[2, 0, 0]], dtype=np.int32),
        value=np.array([[0.0, -5.0, 5.0]], dtype=np.float32),
        baseline=0.0, depth=2, limit=0.0, dimension=3,
    )


def test_features_do_not_depend_on_which_side_was_stored():
    u, v = unit(1, 2, 3), unit(3, 1, 0)
    np.testing.assert_array_equal(features(u, v, "substitution"), features(v, u, "substitution"))
    assert features(u, v, "qualifier")[-3:].tolist() == [1.0, 0.0, 0.0]


def test_a_tree_is_walked_to_its_leaf():
    judge = cosine_judge(above=0.9)
    assert judge.score(unit(1, 0, 0), unit(1, 0.1, 0), "substitution") == 5.0
    assert judge.score(unit(1, 0, 0), unit(1, 1, 0), "substitution") == -5.0
    assert not judge.admits(unit(1, 0, 0), unit(1, 0.1, 0), "antonym")  # never a typed refusal
    assert not judge.admits(unit(1, 0, 0), unit(1, 0.1, 0), "substitution", limit=6.0)


def shard_with(text: str, trees: Judge, **route: object) -> CacheShard:
    config = CacheConfig(brute_force_below=8, default_route=RouteCacheConfig(similarity_threshold=0.5, **route))
    shard = CacheShard(config, dimension=3, judge=trees)
    shard.apply(entry_for(make_request(text), config, unit(1, 0, 0), NOW), NOW)
    return shard


def test_a_swapped_word_the_judge_admits_is_served_and_counted():
    shard = shard_with("Who painted the Mona Lisa?", cosine_judge(above=0.9))
    result = shard.lookup(make_request("Who is the artist behind the Mona Lisa?", request_id="r2"), unit(1, 0.1, 0), NOW)
    assert isinstance(result, Hit) and result.judged and result.kind == "semantic"
    assert shard.stats.semantic_hits == 1 and shard.stats.judged_hits == 1


def test_a_swapped_word_the_judge_doubts_stays_refused():
    shard = shard_with("Who painted the Mona Lisa?", cosine_judge(above=0.9))
    result = shard.lookup(make_request("Who is the artist behind the Mona Lisa?", request_id="r2"), unit(1, 0.6, 0), NOW)
    assert isinstance(result, Miss) and result.rejections == ("substitution",)


def test_typed_refusals_are_never_reopened():
    shard = shard_with("What is the boiling point of water?", cosine_judge(above=-1.0))  # admits anything
    result = shard.lookup(make_request("What is the freezing point of water?", request_id="r2"), unit(1, 0.1, 0), NOW)
    assert isinstance(result, Miss) and result.rejections == ("antonym",)


def test_a_route_can_turn_the_judge_off_or_raise_its_limit():
    asked = make_request("Who is the artist behind the Mona Lisa?", request_id="r2")
    off = shard_with("Who painted the Mona Lisa?", cosine_judge(above=0.9), judge=False)
    assert isinstance(off.lookup(asked, unit(1, 0.1, 0), NOW), Miss)
    strict = shard_with("Who painted the Mona Lisa?", cosine_judge(above=0.9), judge_limit=6.0)
    assert isinstance(strict.lookup(asked, unit(1, 0.1, 0), NOW), Miss)


def test_a_broken_judge_file_is_a_config_error(tmp_path):
    broken = tmp_path / "judge.npz"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="cache judge"):
        load_judge(broken)
    np.savez(broken, feature=np.zeros((1, 1)))
    with pytest.raises(ConfigError, match="cache judge"):
        load_judge(broken)


def test_the_shipped_judge_reads_minilm_vectors():
    judge = shipped_judge()
    assert judge.dimension == 384 and judge.feature.shape[0] > 0 and len(JUDGED_REASONS) == 3
    assert CacheShard(CacheConfig())._judge is judge  # a MiniLM-sized shard uses it
    assert CacheShard(CacheConfig(), dimension=3)._judge is None


@pytest.mark.parametrize(
    ("stored", "asked", "served"),
    [
        ("Who painted the Mona Lisa?", "Who is the artist behind the Mona Lisa?", True),
        ("How do I fix a leaky faucet?", "What's the way to repair a dripping faucet?", True),
        ("How do I boil an egg?", "How do I poach an egg?", False),
    ],
)
def test_the_shipped_judge_on_real_vectors(stored, asked, served):
    minilm = MiniLMEmbedder(threads=1, batch_size=4)
    config = CacheConfig()
    shard = CacheShard(config)
    vectors = minilm.embed([stored, asked])
    shard.apply(entry_for(make_request(stored), config, vectors[0], NOW), NOW)
    result = shard.lookup(make_request(asked, request_id="r2"), vectors[1], NOW)
    assert isinstance(result, Hit) is served
    if not served:
        assert isinstance(result, Miss) and result.rejections == ("substitution",)


@pytest.mark.parametrize(("stored", "asked"), [("n9", "n89"), ("Tell me about order A1234", "Tell me about order A1243")])
def test_codes_with_digits_are_a_typed_refusal_the_judge_never_sees(stored, asked):
    # the shipped judge once scored "n9" / "n89" above its limit: the e2e restart test got n9's answer for n89
    from tokenyard.cache.verify import verify

    assert verify(asked, stored).reason == "identifier"
    shard = shard_with(stored, cosine_judge(above=-1.0))  # admits anything it is shown
    result = shard.lookup(make_request(asked, request_id="r2"), unit(1, 0.1, 0), NOW)
    assert isinstance(result, Miss) and result.rejections == ("identifier",)


@pytest.mark.parametrize(("key", "bad"), [("judge_limit", 25.0), ("judge_limit", -21), ("judge_limit", "strict"),
                                          ("judge", "sometimes")])
def test_a_bad_judge_setting_is_refused_by_name(key, bad):
    with pytest.raises(ConfigError, match=key):
        CacheConfig.from_mapping({"routes": {"chat": {key: bad}}})
