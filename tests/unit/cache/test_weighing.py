"""Words only one side has are weighed by the model before a semantic hit is served."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from tokenyard.cache.config import CacheConfig, RouteCacheConfig
from tokenyard.cache.results import Hit, Miss
from tokenyard.cache.shard import CacheShard
from tokenyard.cache.storing import question_text
from tokenyard.cache.weighing import REASON, Weighing, gain, settle, without_words
from tokenyard.errors import ConfigError

from .conftest import entry_for, make_request
from .weighed_pair import ASKED, ASKED_WITHOUT_ADDED, NOW, STORED, unit


def shard_with_stored(limit: float | None = 0.08) -> tuple[CacheShard, np.ndarray]:
    config = CacheConfig(
        brute_force_below=8,
        default_route=RouteCacheConfig(similarity_threshold=0.5, added_words_max_gain=limit),
    )
    shard = CacheShard(config, dimension=3)
    stored = unit(1, 0, 0)
    shard.apply(entry_for(make_request(STORED), config, stored, NOW), NOW)
    return shard, stored


def ask(shard: CacheShard, vector: np.ndarray) -> Hit | Miss:
    request = make_request(ASKED, request_id="r2")
    assert question_text(request, shard.config)  # the text the verifier reads
    return shard.lookup(request, vector, NOW + 1)


def test_without_words_drops_every_spelling_of_the_added_words():
    assert without_words("How many calories are in a large egg white?", ("whit",)) == "How many calories are in a large egg"
    assert without_words("Which colours go with grey?", ("color",)) == "Which go with grey?"


def test_a_hit_with_added_words_waits_for_weighing():
    shard, stored = shard_with_stored()
    asked = unit(1, 0.3, 0)
    pending = ask(shard, asked)
    assert isinstance(pending, Hit) and pending.weighing is not None
    assert pending.weighing.text == ASKED_WITHOUT_ADDED  # the asking side, words dropped
    np.testing.assert_allclose(pending.weighing.other, stored)  # weighed against the stored question
    assert shard.stats.semantic_hits == 0 and shard.stats.lookups == 0  # not counted before it is settled


def test_added_words_that_pull_away_from_the_other_side_refuse_the_hit():
    shard, stored = shard_with_stored()
    pending = ask(shard, unit(1, 0.5, 0))
    result = shard.settle(pending, stored)  # without "white" the question is the stored one
    assert isinstance(result, Miss) and result.rejections == (REASON,)
    assert shard.stats.misses == 1 and shard.stats.rejected_candidates == 1 and shard.stats.semantic_hits == 0


def test_added_words_that_change_little_keep_the_hit():
    shard, _ = shard_with_stored()
    asked = unit(1, 0.5, 0)
    pending = ask(shard, asked)
    result = shard.settle(pending, asked)  # dropping the word moved nothing
    assert isinstance(result, Hit) and result.weighing is None
    assert shard.stats.semantic_hits == 1 and shard.stats.cost_saved_usd == Decimal("0.0021")


def test_a_declined_embedding_refuses_rather_than_serve_unweighed():
    shard, _ = shard_with_stored()
    result = shard.settle(ask(shard, unit(1, 0.5, 0)), None)
    assert isinstance(result, Miss) and result.rejections == (REASON,)


def test_weighing_off_serves_at_once():
    shard, _ = shard_with_stored(limit=None)
    result = ask(shard, unit(1, 0.5, 0))
    assert isinstance(result, Hit) and result.weighing is None and shard.stats.semantic_hits == 1


@pytest.mark.parametrize(("reduced", "expected"), [((1, 0, 0), 0.2), ((0, 1, 0), -0.8)])
def test_gain_is_the_similarity_won_by_dropping_the_words(reduced, expected):
    weighing = Weighing("text", unit(1, 0, 0), similarity=0.8, limit=0.08)
    assert gain(unit(*reduced), weighing) == pytest.approx(expected)


def test_settle_leaves_a_hit_without_weighing_alone(config):
    shard = CacheShard(config, dimension=3)
    entry = entry_for(make_request(STORED), config, unit(1, 0, 0), NOW)
    hit = Hit(entry, 0.9, "semantic")
    assert settle(hit, None) is hit


@pytest.mark.parametrize("bad", [0, -0.1, 3.0, "heavy"])
def test_a_bad_weighing_limit_is_refused_by_name(bad):
    with pytest.raises(ConfigError, match="added_words_max_gain"):
        CacheConfig.from_mapping({"routes": {"chat": {"added_words_max_gain": bad}}})
