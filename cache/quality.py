"""The quality gate: how often does the cache answer a different question?

Each labelled pair is played against a fresh shard: store ``a``, look up ``b``.
``hit`` pairs ask the same thing (a hit is right), ``miss`` pairs look close but need
a different answer (a hit is a false hit). Embeddings are computed in one batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

import orjson

from tokenyard.cache.config import CacheConfig
from tokenyard.cache.embedding import Embedder, MiniLMEmbedder
from tokenyard.cache.results import Hit
from tokenyard.cache.shard import CacheShard
from tokenyard.cache.storing import new_entry
from tokenyard.errors import ConfigError
from tokenyard.schemas.records import Message, Request, Role, Usage

ROUTE = "quality"


@dataclass(frozen=True)
class LabelledPair:
    id: str
    a: str
    b: str
    label: Literal["hit", "miss"]


@dataclass
class QualityReport:
    hit_pairs: int = 0
    miss_pairs: int = 0
    true_hits: int = 0
    false_hits: int = 0
    false_hit_ids: list[str] = field(default_factory=list)
    missed_hit_ids: list[str] = field(default_factory=list)
    miss_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def precision(self) -> float:
        served = self.true_hits + self.false_hits
        return self.true_hits / served if served else 1.0

    @property
    def recall(self) -> float:
        return self.true_hits / self.hit_pairs if self.hit_pairs else 0.0

    @property
    def false_hit_rate(self) -> float:
        return self.false_hits / self.miss_pairs if self.miss_pairs else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "pairs": self.hit_pairs + self.miss_pairs,
            "hit_pairs": self.hit_pairs,
            "miss_pairs": self.miss_pairs,
            "true_hits": self.true_hits,
            "false_hits": self.false_hits,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "false_hit_rate": round(self.false_hit_rate, 4),
            "false_hit_ids": self.false_hit_ids,
            "missed_hit_ids": self.missed_hit_ids,
            "miss_reasons": dict(sorted(self.miss_reasons.items())),
        }


def load_pairs(path: Path) -> list[LabelledPair]:
    """Read a ``{"id", "a", "b", "label"}`` JSONL file; ConfigError names a bad line."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read pair file {path}: {exc.strerror}") from exc
    pairs = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
            pair = LabelledPair(str(row["id"]), str(row["a"]), str(row["b"]), row["label"])
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{number}: not a labelled pair ({exc})") from exc
        if pair.label not in ("hit", "miss"):
            raise ConfigError(f"{path}:{number}: label must be 'hit' or 'miss', got {pair.label!r}")
        pairs.append(pair)
    return pairs


def _request(pair_id: str, side: str, text: str) -> Request:
    return Request(
        request_id=f"{pair_id}-{side}",
        tenant="quality",
        model=ROUTE,
        messages=[Message(role=Role.user, content=text)],
        reply_to="quality.replies",
    )


def evaluate(
    pairs: Iterable[LabelledPair],
    cache_factory: Callable[[], CacheShard],
    embedder: Embedder,
) -> QualityReport:
    pairs = list(pairs)
    vectors = embedder.embed([p.a for p in pairs] + [p.b for p in pairs])
    stored, asked = vectors[: len(pairs)], vectors[len(pairs) :]
    report = QualityReport()
    now = 1_000_000.0
    for i, pair in enumerate(pairs):
        shard = cache_factory()
        entry = new_entry(
            _request(pair.id, "a", pair.a),
            shard.config,
            content=f"answer to {pair.id}",
            finish_reason="stop",
            provider="quality",
            provider_model="quality",
            usage=Usage(input_tokens=10, output_tokens=10),
            cost_usd=Decimal("0.001"),
            embedding=stored[i],
            now=now,
        )
        if entry is None:
            raise ConfigError(f"the cache config stores nothing on route {ROUTE!r}")
        shard.apply(entry, now)
        result = shard.lookup(_request(pair.id, "b", pair.b), asked[i], now + 1)
        if isinstance(result, Hit) and result.weighing is not None:
            result = shard.settle(result, embedder.embed([result.weighing.text])[0])
        if pair.label == "hit":
            report.hit_pairs += 1
            if isinstance(result, Hit):
                report.true_hits += 1
            else:
                report.missed_hit_ids.append(pair.id)
                report.miss_reasons[result.rejections[0] if result.rejections else result.reason] += 1
        else:
            report.miss_pairs += 1
            if isinstance(result, Hit):
                report.false_hits += 1
                report.false_hit_ids.append(pair.id)
    return report


def run_cache_quality(path: Path, config: CacheConfig | None = None, embedder: Embedder | None = None) -> dict[str, object]:
    """What ``tokenyard bench cache-quality FILE --json`` prints."""
    config = config or CacheConfig()
    report = evaluate(load_pairs(path), lambda: CacheShard(config), embedder or MiniLMEmbedder())
    return {"file": str(path), **report.to_dict()}
