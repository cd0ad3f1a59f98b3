from __future__ import annotations

import asyncio

import numpy as np

from tokenyard.agents.lookup import EmbeddingBatcher


class CountingEmbedder:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.batches.append(len(texts))
        return np.ones((len(texts), 384), dtype=np.float32)


async def run_inline(fn):
    await asyncio.sleep(0)  # yield like an executor would
    return fn()


async def test_concurrent_texts_share_batches() -> None:
    model = CountingEmbedder()
    batcher = EmbeddingBatcher(model, run_inline, max_batch=8, max_pending=100)
    vectors = await asyncio.gather(*(batcher.embed(f"t{i}") for i in range(20)))
    assert all(v is not None and v.shape == (384,) for v in vectors)
    assert sum(model.batches) == 20 and max(model.batches) <= 8 and len(model.batches) < 20


async def test_a_saturated_model_declines_instead_of_queueing() -> None:
    model = CountingEmbedder()
    batcher = EmbeddingBatcher(model, run_inline, max_batch=4, max_pending=5)
    results = await asyncio.gather(*(batcher.embed(f"t{i}") for i in range(12)))
    assert sum(r is None for r in results) == batcher.declined == 7
    assert sum(model.batches) == 5


async def test_past_its_budget_the_model_is_not_asked() -> None:
    model = CountingEmbedder()
    now = [100.0]
    batcher = EmbeddingBatcher(model, run_inline, max_pending=1000, max_per_s=10, clock=lambda: now[0])
    first = await asyncio.gather(*(batcher.embed(f"a{i}") for i in range(25)))
    assert sum(r is not None for r in first) == 10 and batcher.declined == 15  # one second's burst
    now[0] += 0.5  # half a second refills five
    second = await asyncio.gather(*(batcher.embed(f"b{i}") for i in range(8)))
    assert sum(r is not None for r in second) == 5 and sum(model.batches) == 15
