"""The semantic cache core: pure, clock-injected, no Kafka.

The lookup agent holds one :class:`CacheShard` per owned partition, rebuilt by
``apply``-ing the cache topic's records (:func:`decode_record`) in order, and per
request calls ``lookup(request, None, now)`` (exact path), then on
``Miss.needs_embedding`` embeds :func:`question_text` and calls ``lookup`` again.
After a provider answer, :func:`new_entry` builds the record to publish.
"""

from tokenyard.cache.config import CacheConfig, RouteCacheConfig
from tokenyard.cache.embedding import Embedder, HashingEmbedder, MiniLMEmbedder
from tokenyard.cache.entry import (
    CacheEntry,
    CacheInvalidation,
    CacheRecord,
    CacheTombstone,
    decode_record,
    encode_record,
)
from tokenyard.cache.keys import CacheAction, CachePolicy, cache_policy, request_keys
from tokenyard.cache.results import CacheStats, Hit, Miss
from tokenyard.cache.shard import CacheShard
from tokenyard.cache.storing import new_entry, question_text

__all__ = [
    "CacheAction",
    "CacheConfig",
    "CacheEntry",
    "CacheInvalidation",
    "CachePolicy",
    "CacheRecord",
    "CacheShard",
    "CacheStats",
    "CacheTombstone",
    "Embedder",
    "HashingEmbedder",
    "Hit",
    "MiniLMEmbedder",
    "Miss",
    "RouteCacheConfig",
    "cache_policy",
    "decode_record",
    "encode_record",
    "new_entry",
    "question_text",
    "request_keys",
]
