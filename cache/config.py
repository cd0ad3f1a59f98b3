"""Cache settings: one shard-wide block plus per-route overrides.

Frozen pydantic models, so a misspelt key fails with a message naming it and a
config object can be shared between threads without copying.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tokenyard.errors import ConfigError

Strictness = Literal["strict", "off"]


class RouteCacheConfig(BaseModel):
    """How one route uses the cache."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    #: Seconds an entry may be served after it was written.
    ttl_s: float = Field(default=86_400.0, gt=0)
    #: Allow the embedding path; False keeps only exact hits.
    semantic: bool = True
    #: Minimum cosine similarity for a nearest neighbour to be verified at all.
    similarity_threshold: float = Field(default=0.70, ge=-1.0, le=1.0)
    #: ``strict`` checks entities, numbers, negations, direction, ... (see verify.py);
    #: ``off`` trusts the cosine alone (known to give wrong answers; for experiments).
    verification: Strictness = "strict"
    #: Strict mode: content words only one side has that are still tolerated (0 = none).
    max_extra_words: int = Field(default=3, ge=0, le=8)
    #: Strict mode: a candidate that passes with words only one side has is served only if
    #: dropping those words brings that side less than this much closer (cosine) to the
    #: other; the embedding model weighs them (cache/weighing.py). None: not weighed.
    added_words_max_gain: float | None = Field(default=0.06, gt=0.0, le=2.0)
    #: Strict mode: a candidate the word checks refused softly (a swapped word, a one-sided
    #: qualifier, an unmatched name) is served if the judge, a classifier on the pair's
    #: vectors, scores it above ``judge_limit`` (cache/judge.py). Typed checks stay vetoes.
    judge: bool = True
    #: The judge's log-odds limit; None: the limit it was trained with. Higher serves fewer.
    judge_limit: float | None = Field(default=None, ge=-20.0, le=20.0)
    #: Nearest neighbours verified per lookup; the first that passes is served.
    candidates: int = Field(default=4, ge=1, le=64)
    #: Entries of every tenant answer every tenant on this route (same partition only).
    shared_scope: bool = False
    #: Requests hotter than this bypass the cache: the caller asked for variety.
    max_temperature: float = Field(default=1.0, ge=0.0, le=2.0)


class CacheConfig(BaseModel):
    """Shard-wide settings and the per-route table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    #: Live entries one shard (one partition) keeps; the oldest go first.
    capacity_per_shard: int = Field(default=200_000, ge=1)
    #: A scope switches from numpy brute force to hnswlib at this many entries.
    brute_force_below: int = Field(default=10_000, ge=0)
    hnsw_m: int = Field(default=16, ge=2, le=128)
    hnsw_ef_construction: int = Field(default=200, ge=8)
    hnsw_ef: int = Field(default=64, ge=1)
    #: Threads hnswlib builds a scope's graph with when a shard is rebuilt from the topic.
    rebuild_threads: int = Field(default=2, ge=1, le=64)
    #: After each rebuild, write the partition's shard to ``worker.data_dir``; the next
    #: rebuild (restart, rebalance) loads it and replays only the topic's tail.
    snapshots: bool = False
    #: Older snapshots are not used: Kafka's compaction may have dropped tombstones since.
    snapshot_max_age_s: float = Field(default=43_200.0, gt=0)
    #: Texts a worker embeds per second at most (None: as many as its CPU allows).
    #: MiniLM costs ~4.5 ms of CPU per text, so on a small machine the model can eat
    #: the CPU the rest of the pipeline needs; past the budget a request still gets
    #: exact-match caching, only the semantic path is skipped.
    embed_max_per_s: float | None = Field(default=None, gt=0)
    default_route: RouteCacheConfig = RouteCacheConfig()
    routes: dict[str, RouteCacheConfig] = Field(default_factory=dict)

    def for_route(self, route: str) -> RouteCacheConfig:
        return self.routes.get(route, self.default_route)

    @classmethod
    def from_mapping(cls, data: dict[str, object]) -> CacheConfig:
        """Build from a TOML table; a bad key raises ConfigError naming it."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError.from_validation(exc, "cache") from exc
