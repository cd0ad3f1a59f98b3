"""The lookup stage weighs a hit's added words through the shared embedding batcher."""

from __future__ import annotations

import asyncio

import numpy as np

from tests.unit.cache.conftest import entry_for, make_request
from tests.unit.cache.weighed_pair import ASKED, ASKED_WITHOUT_ADDED, NOW, STORED, unit
from tokenyard.agents.lookup import CacheStage, EmbeddingBatcher
from tokenyard.cache.config import CacheConfig, RouteCacheConfig
from tokenyard.cache.results import Hit, Miss
from tokenyard.cache.shard import CacheShard


class TableEmbedder:
    """Vectors by text; records what it was asked to embed."""

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table
        self.asked: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.asked.extend(texts)
        return np.stack([self.table[t] for t in texts])


class OneShard:
    def __init__(self, shard: CacheShard) -> None:
        self.shard = shard

    async def view(self, partition: int) -> OneShard:
        return self


async def run_inline(fn):
    await asyncio.sleep(0)
    return fn()


async def look_up(reduced: np.ndarray) -> tuple[Hit | Miss, TableEmbedder]:
    config = CacheConfig(brute_force_below=8, default_route=RouteCacheConfig(similarity_threshold=0.5))
    shard = CacheShard(config, dimension=3)
    shard.apply(entry_for(make_request(STORED), config, unit(1, 0, 0), NOW), NOW)
    model = TableEmbedder({ASKED: unit(1, 0.5, 0), ASKED_WITHOUT_ADDED: reduced})
    stage = CacheStage(config=config, shards=OneShard(shard), embeddings=EmbeddingBatcher(model, run_inline),
                       clock=lambda: NOW + 1)
    found = await stage.lookup(make_request(ASKED, request_id="r2"), 0)
    return found.result, model


async def test_added_words_that_carry_the_difference_turn_the_hit_into_a_miss():
    result, model = await look_up(reduced=unit(1, 0, 0))
    assert isinstance(result, Miss) and result.rejections == ("added_words",)
    assert model.asked == [ASKED, ASKED_WITHOUT_ADDED]


async def test_added_words_that_change_nothing_keep_the_hit():
    result, _ = await look_up(reduced=unit(1, 0.5, 0))
    assert isinstance(result, Hit) and result.kind == "semantic" and result.weighing is None
