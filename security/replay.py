"""Replay protection: a signature is accepted from one event only.

Why one guard per partition owner is enough. Requests are keyed by tenant, and
the authenticator rejects a signed request whose Kafka key is not its (signed)
tenant, so every copy of a signed request - the original and any replay - lands
in the same partition and is read by the one worker that owns it. That worker's
guard therefore sees every copy; no cross-worker state is needed.

What it does not cover, by design:

- After a restart or rebalance the new owner starts with an empty guard, so a
  copy replayed within ``max_skew`` of signing, and read by the new owner, is not
  caught here. It is still harmless: the signature binds the ``request_id``,
  the gateway's completed-requests record (rebuilt exactly from Kafka) answers
  an already-served request_id from the stored reply, and the reply goes to the
  ``reply_to`` the tenant signed. No provider is paid twice.
- Older copies are refused by the timestamp skew check, so the guard only has to
  remember a signature until its timestamp is ``window_ms`` old.

Redelivery is not replay: Kafka redelivers the *same* event (same partition and
offset) after a crash or rebalance, and that must be served again, so the guard
remembers where it first saw each signature and lets that event through.

Bounded: at most ``capacity`` signatures. When full it forgets the one with the
oldest timestamp and raises its *horizon* to that timestamp; signed requests not
newer than the horizon are then refused (fail closed: a forgotten signature can
never be replayed). Legitimate traffic, signed just now, stays above the horizon
unless one worker receives more than ``capacity`` signed requests per window.

Pure: the clock is an argument.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from tokenyard.errors import Unauthenticated


@dataclass(frozen=True)
class _Seen:
    timestamp_ms: int
    partition: int | None
    offset: int | None


class ReplayGuard:
    def __init__(self, *, window_ms: int, capacity: int) -> None:
        if window_ms <= 0 or capacity <= 0:
            raise ValueError("window_ms and capacity must be positive")
        self.window_ms = window_ms
        self.capacity = capacity
        self.horizon_ms = -1
        self._seen: dict[str, _Seen] = {}
        # (timestamp_ms, signature): the next to expire or to evict first.
        self._by_age: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self._seen)

    def check(
        self,
        signature: str,
        timestamp_ms: int,
        now_ms: int,
        *,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        """Remember ``signature`` or raise :class:`Unauthenticated` if it is a replay.

        Call only after the signature verified, so forged events cannot fill the guard.
        """
        self._expire(now_ms)
        seen = self._seen.get(signature)
        if seen is not None:
            if offset is not None and (seen.partition, seen.offset) == (partition, offset):
                return  # the same event redelivered
            where = "" if seen.offset is None else f" (first at partition {seen.partition}, offset {seen.offset})"
            raise Unauthenticated(
                f"replayed request: this signature was already used{where}; sign each request anew",
                reason="replayed",
            )
        if timestamp_ms <= self.horizon_ms:
            raise Unauthenticated(
                "request signed too long ago for this worker to prove it is not a replay "
                f"(its replay memory of {self.capacity} signatures is full); sign it again",
                reason="replay_horizon",
            )
        if len(self._seen) >= self.capacity:
            self._evict_oldest()
        self._seen[signature] = _Seen(timestamp_ms, partition, offset)
        heapq.heappush(self._by_age, (timestamp_ms, signature))

    def _expire(self, now_ms: int) -> None:
        # A timestamp older than the window is refused by the skew check anyway.
        while self._by_age and self._by_age[0][0] < now_ms - self.window_ms:
            _, signature = heapq.heappop(self._by_age)
            self._seen.pop(signature, None)

    def _evict_oldest(self) -> None:
        timestamp_ms, signature = heapq.heappop(self._by_age)
        del self._seen[signature]
        self.horizon_ms = max(self.horizon_ms, timestamp_ms)
