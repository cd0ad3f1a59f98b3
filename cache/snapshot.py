"""Local snapshots of a cache shard: a rebuild starts from one plus the topic's tail.

Building a 100k-entry hnswlib graph costs about a minute of CPU; loading a saved one
takes well under a second. A snapshot is only ever a shortcut: it names the last
topic record it holds (offset and digest), the replay checks that record is still
there (see ``streams/partition_state.py``) and applies what follows, up to a fresh
marker, so the result is the fold of the whole partition. Anything that does not
fit (bad checksum, other topic, partition, dimension, embedding model or fold
settings, too old, unreadable) is ignored with a log line: the caller replays all.

On disk, per partition, under ``<worker.data_dir>/cache-snapshots/<topic>/p<n>/``:
``snap-*`` directories (``meta.json`` last, with a SHA-256 of every other file) and a
``current`` file naming the complete one. Writers build in a ``.tmp-*`` directory and
rename, so a crash or a concurrent writer never leaves a half snapshot current.

This module reads and writes the shard's private state: it is the shard's other half.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from tokenyard.cache.config import CacheConfig
from tokenyard.cache.entry import CacheEntry, CacheInvalidation
from tokenyard.cache.index import HnswParams, VectorIndex
from tokenyard.cache.shard import CacheShard

log = logging.getLogger(__name__)

FORMAT = 1
_FIELDS = ("entry_id", "tenant", "route", "scope_id", "scope_tenant", "prompt", "content", "finish_reason",
           "provider", "provider_model", "input_tokens", "output_tokens", "cost_usd", "max_tokens", "created_at",
           "expires_at", "request_id")
_LEFTOVERS_AFTER_S = 3600.0  # a .tmp directory this old belongs to a writer that died


@dataclass(frozen=True)
class Snapshot:
    shard: CacheShard
    offset: int  # the last topic record the shard holds
    digest: str  # of that record's key and value (streams.partition_state.record_digest)


def fold_settings(config: CacheConfig, dimension: int, model: str) -> dict[str, Any]:
    """What a shard's content depends on besides the topic: a snapshot must match all of it."""
    return {"dimension": dimension, "model": model, "capacity_per_shard": config.capacity_per_shard,
            "brute_force_below": config.brute_force_below, "hnsw_m": config.hnsw_m,
            "hnsw_ef_construction": config.hnsw_ef_construction}


class SnapshotStore:
    """The snapshots of one cache topic's partitions in one directory."""

    def __init__(self, root: Path, topic: str, *, model: str, max_age_s: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.topic = topic
        self.directory = Path(root) / "cache-snapshots" / topic.replace("/", "_")
        self.model = model
        self.max_age_s = max_age_s
        self.clock = clock

    def _partition_dir(self, partition: int) -> Path:
        return self.directory / f"p{partition}"

    # -- writing --------------------------------------------------------------------

    def save(self, shard: CacheShard, partition: int, offset: int, digest: str) -> Path:
        """Write ``shard`` (the fold of the partition up to ``offset``) and make it current."""
        started = time.monotonic()
        home = self._partition_dir(partition)
        home.mkdir(parents=True, exist_ok=True)
        tmp = home / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            meta = self._write(shard, tmp, partition, offset, digest)
            (tmp / "meta.json").write_bytes(orjson.dumps(meta))
            final = home / f"snap-{time.time_ns()}-{uuid.uuid4().hex[:8]}"
            tmp.rename(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        pointer = home / f".current-{uuid.uuid4().hex}"
        pointer.write_text(final.name)
        os.replace(pointer, home / "current")
        self._clean(home, keep=final.name)
        log.info("cache snapshot %s[%d]: %d entries up to offset %d in %.1fs", self.topic, partition, len(shard),
                 offset, time.monotonic() - started)
        return final

    def _write(self, shard: CacheShard, into: Path, partition: int, offset: int, digest: str) -> dict[str, Any]:
        s = shard  # the shard's private state, read while nobody else uses the shard
        rows = [[s._label_of[e.entry_id], *(getattr(e, f) for f in _FIELDS)] for e in s._entries.values()]  # noqa: SLF001
        for row in rows:
            row[13] = None if row[13] is None else str(row[13])  # cost_usd
        (into / "entries.json").write_bytes(orjson.dumps(rows))
        scopes = []
        for i, (scope_id, index) in enumerate(s._scopes.items()):  # noqa: SLF001
            scopes.append({"scope_id": scope_id, **index.save(into, f"scope-{i}")})
        names = ["entries.json", *(name for scope in scopes for name in scope["files"])]
        return {
            "format": FORMAT, "topic": self.topic, "partition": partition,
            "fold": fold_settings(shard.config, shard.dimension, self.model),
            "written_at": self.clock(), "offset": offset, "digest": digest,
            "next_label": s._next_label,  # noqa: SLF001
            "invalidations": [inv.to_wire() for inv in s._invalidations],  # noqa: SLF001
            "stats": {"expired": s.stats.expired, "evicted": s.stats.evicted, "invalidated": s.stats.invalidated},
            "scopes": scopes,
            "files": {name: _sha256(into / name) for name in names},
        }

    def _clean(self, home: Path, keep: str) -> None:
        for path in home.iterdir():
            old_tmp = path.name.startswith(".tmp-") and time.time() - path.stat().st_mtime > _LEFTOVERS_AFTER_S
            if (path.name.startswith("snap-") and path.name != keep) or old_tmp:
                shutil.rmtree(path, ignore_errors=True)

    # -- reading --------------------------------------------------------------------

    def load(self, partition: int, config: CacheConfig, dimension: int) -> Snapshot | None:
        """The partition's current snapshot, or None (with the reason logged) if unusable."""
        home = self._partition_dir(partition)
        try:
            name = (home / "current").read_text().strip()
        except FileNotFoundError:
            return None
        try:
            return self._read(home / name, partition, config, dimension)
        except Exception as exc:  # a snapshot is never trusted: anything odd means replay all
            log.warning("cache snapshot %s ignored: %s", home / name, exc)
            return None

    def _read(self, path: Path, partition: int, config: CacheConfig, dimension: int) -> Snapshot:
        started = time.monotonic()
        if "/" in path.name or not path.name.startswith("snap-"):
            raise ValueError("the current pointer names no snapshot")
        meta = orjson.loads((path / "meta.json").read_bytes())
        expected = {"format": FORMAT, "topic": self.topic, "partition": partition,
                    "fold": fold_settings(config, dimension, self.model)}
        for key, value in expected.items():
            if meta.get(key) != value:
                raise ValueError(f"written for another {key}: {meta.get(key)!r}, here {value!r}")
        age = self.clock() - float(meta["written_at"])
        if not 0 <= age <= self.max_age_s:
            raise ValueError(f"{age:.0f}s old, snapshot_max_age_s is {self.max_age_s:.0f}")
        for name, sha in meta["files"].items():
            if "/" in name or _sha256(path / name) != sha:
                raise ValueError(f"{name} does not match its checksum")
        shard = CacheShard(config, dimension)
        s = shard
        for row in orjson.loads((path / "entries.json").read_bytes()):
            label, values = int(row[0]), dict(zip(_FIELDS, row[1:], strict=True))
            if values["cost_usd"] is not None:
                values["cost_usd"] = Decimal(values["cost_usd"])
            entry = CacheEntry(**values)
            if entry.entry_id in s._entries or label in s._entry_of_label:  # noqa: SLF001
                raise ValueError(f"entry {entry.entry_id} or label {label} twice")
            s._entries[entry.entry_id] = entry  # noqa: SLF001
            s._label_of[entry.entry_id] = label  # noqa: SLF001
            s._entry_of_label[label] = entry.entry_id  # noqa: SLF001
            s._expiry.append((entry.expires_at, label, entry.entry_id))  # noqa: SLF001
        heapq.heapify(s._expiry)  # noqa: SLF001
        s._next_label = int(meta["next_label"])  # noqa: SLF001
        if s._entry_of_label and max(s._entry_of_label) >= s._next_label:  # noqa: SLF001
            raise ValueError("a label is not below next_label")
        s._invalidations = [CacheInvalidation(**{k: v for k, v in w.items() if k not in ("type", "schema_version")})  # noqa: SLF001
                            for w in meta["invalidations"]]
        hnsw = HnswParams(config.hnsw_m, config.hnsw_ef_construction, config.hnsw_ef)
        for i, scope in enumerate(meta["scopes"]):
            index = VectorIndex.load(path, f"scope-{i}", scope, dimension,
                                     brute_force_below=config.brute_force_below, hnsw=hnsw)
            if any(s._entries[s._entry_of_label[label]].scope_id != scope["scope_id"]  # noqa: SLF001
                   for label in index.labels()):
                raise ValueError(f"scope {i} holds labels of entries elsewhere")
            s._scopes[scope["scope_id"]] = index  # noqa: SLF001
        for key in ("expired", "evicted", "invalidated"):
            setattr(s.stats, key, int(meta["stats"][key]))
        s.stats.entries, s.stats.scopes = len(s._entries), len(s._scopes)  # noqa: SLF001
        log.info("cache snapshot %s: %d entries up to offset %d loaded in %.1fs", path, len(shard),
                 meta["offset"], time.monotonic() - started)
        return Snapshot(shard, int(meta["offset"]), str(meta["digest"]))


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
