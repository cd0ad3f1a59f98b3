"""Who goes next when a provider account's capacity is short.

One :class:`FairScheduler` per provider account holds the requests waiting for
it. :meth:`FairScheduler.pop_ready` hands them out while ``capacity_check``
says the next one fits, in this order:

1. **Strict priority with aging.** Classes ``high`` (0), ``normal`` (1) and
   ``low`` (2). A waiting request climbs one class every ``aging_s`` seconds,
   up to ``high``, so a low request waits at most ``2 × aging_s`` before it
   competes with high ones on equal terms: low never starves forever. High is
   never starved either: aged requests are only ever as good as high ones, and
   among equals the fairness rule below decides, so a stream of aged requests
   gets a fair share, never all of it.
2. **Fairness across tenants** within the best class present: weighted fair
   queuing on *service received*. Each tenant has a virtual clock advanced by
   ``cost / weight`` whenever one of its requests is handed out (cost =
   estimated tokens); the tenant with the smallest clock goes next. A tenant
   that was idle joins at the current virtual time, so it can neither bank
   credit while idle nor be punished for the backlog of a noisy neighbour. One
   tenant flooding an account therefore gets its weighted share, and the others
   keep theirs.
3. Within a tenant and class: first in, first out.

When the chosen request does not fit, ``pop_ready`` stops rather than skipping
to a smaller or lower one, so capacity is never taken from a more deserving
request by a stream of smaller ones.

The scheduler is a plain in-memory structure with no clock and no I/O. The
requests it holds are still uncommitted (or re-queued with a not-before time)
in Kafka, which is where they are recovered from after a restart; it needs no
changelog of its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from tokenyard.schemas.records import Priority

PRIORITY_RANK: Mapping[str, int] = {Priority.high.value: 0, Priority.normal.value: 1, Priority.low.value: 2}
CLASSES = 3


class Schedulable(Protocol):
    @property
    def tenant(self) -> str: ...

    @property
    def priority(self) -> str: ...

    @property
    def estimated_tokens(self) -> int: ...


T = TypeVar("T", bound=Schedulable)


@dataclass(slots=True)
class _Waiting(Generic[T]):
    item: T
    rank: int
    cost: float
    enqueued_at: float
    seq: int


def _rank_of(priority: str | Priority) -> int:
    value = priority.value if isinstance(priority, Priority) else priority
    try:
        return PRIORITY_RANK[value]
    except KeyError:
        raise ValueError(f"unknown priority {priority!r}; expected one of {sorted(PRIORITY_RANK)}") from None


class FairScheduler(Generic[T]):
    def __init__(
        self,
        aging_s: float,
        weights: Mapping[str, float] | None = None,
        min_cost: float = 1.0,
        default_weight: float = 1.0,
    ):
        if aging_s <= 0:
            raise ValueError(f"aging_s must be > 0, got {aging_s!r}")
        self._aging_s = aging_s
        self._weights = dict(weights or {})
        self._default_weight = default_weight
        self._min_cost = min_cost
        self._queues: dict[str, list[deque[_Waiting[T]]]] = {}
        self._served: dict[str, float] = {}
        self._virtual_time = 0.0
        self._seq = 0
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def waiting(self, tenant: str) -> int:
        return sum(len(q) for q in self._queues.get(tenant, ()))

    def push(self, item: T, now: float) -> None:
        rank = _rank_of(item.priority)
        queues = self._queues.get(item.tenant)
        if queues is None:
            queues = self._queues[item.tenant] = [deque() for _ in range(CLASSES)]
            # Joining (or rejoining after idling) at the current virtual time.
            self._served[item.tenant] = max(self._served.get(item.tenant, 0.0), self._virtual_time)
        queues[rank].append(_Waiting(item, rank, max(self._min_cost, float(item.estimated_tokens)), now, self._seq))
        self._seq += 1
        self._size += 1

    def _effective_rank(self, waiting: _Waiting[T], now: float) -> int:
        climbed = int(max(0.0, now - waiting.enqueued_at) // self._aging_s)
        return max(0, waiting.rank - climbed)

    def _best(
        self, now: float, served: Mapping[str, float] | None = None, taken: Mapping[tuple[str, int], int] | None = None
    ) -> tuple[str, int] | None:
        """``(tenant, native rank of the queue)`` whose head goes next.

        ``served`` and ``taken`` (items already handed out per queue) let
        :meth:`first` look ahead without changing anything.
        """
        served = self._served if served is None else served
        best_key: tuple[int, float, int] | None = None
        best: tuple[str, int] | None = None
        for tenant, queues in self._queues.items():
            for rank, queue in enumerate(queues):
                index = 0 if taken is None else taken.get((tenant, rank), 0)
                if index >= len(queue):
                    continue
                head = queue[index]
                key = (self._effective_rank(head, now), served[tenant], head.seq)
                if best_key is None or key < best_key:
                    best_key, best = key, (tenant, rank)
        return best

    def first(self, now: float, count: int) -> list[T]:
        """The next ``count`` items in the order :meth:`pop_ready` would hand them out."""
        served = dict(self._served)
        taken: dict[tuple[str, int], int] = {}
        ahead: list[T] = []
        while len(ahead) < count:
            best = self._best(now, served, taken)
            if best is None:
                break
            tenant, rank = best
            waiting = self._queues[tenant][rank][taken.get(best, 0)]
            taken[best] = taken.get(best, 0) + 1
            served[tenant] += waiting.cost / self._weights.get(tenant, self._default_weight)
            ahead.append(waiting.item)
        return ahead

    def last(self, now: float) -> T | None:
        """The waiting item that would be handed out last (roughly): the one to give up first.

        The tail of the worst class present, from the tenant whose backlog reaches
        furthest in virtual time (service received plus what it has waiting).
        """
        worst_key: tuple[int, float, int] | None = None
        worst: T | None = None
        for tenant, queues in self._queues.items():
            weight = self._weights.get(tenant, self._default_weight)
            finish = self._served[tenant] + sum(w.cost for q in queues for w in q) / weight
            for queue in queues:
                if not queue:
                    continue
                tail = queue[-1]
                key = (self._effective_rank(tail, now), finish, tail.seq)
                if worst_key is None or key > worst_key:
                    worst_key, worst = key, tail.item
        return worst

    def peek(self, now: float) -> T | None:
        best = self._best(now)
        return None if best is None else self._queues[best[0]][best[1]][0].item

    def pop_ready(self, now: float, capacity_check: Callable[[T], bool], max_items: int | None = None) -> list[T]:
        """Hand out waiting items in order while ``capacity_check(item)`` says they fit.

        ``capacity_check`` should take the capacity when it answers True (it is
        called once per handed-out item, in order).
        """
        ready: list[T] = []
        while self._size and (max_items is None or len(ready) < max_items):
            best = self._best(now)
            assert best is not None
            tenant, rank = best
            queues = self._queues[tenant]
            head = queues[rank][0]
            if not capacity_check(head.item):
                break
            queues[rank].popleft()
            self._size -= 1
            self._virtual_time = max(self._virtual_time, self._served[tenant])
            self._served[tenant] += head.cost / self._weights.get(tenant, self._default_weight)
            self._forget_if_idle(tenant)
            ready.append(head.item)
        return ready

    def remove(self, item: T) -> bool:
        """Take ``item`` out unserved (it left: deadline, timeout, shutdown).

        Nothing is charged to its tenant, since it received no service.
        Returns whether it was waiting here.
        """
        queues = self._queues.get(item.tenant)
        if queues is None:
            return False
        for queue in queues:
            for index, waiting in enumerate(queue):
                if waiting.item is item:
                    del queue[index]
                    self._size -= 1
                    self._forget_if_idle(item.tenant)
                    return True
        return False

    def _forget_if_idle(self, tenant: str) -> None:
        queues = self._queues[tenant]
        if any(queues):
            return
        del self._queues[tenant]
        if self._served[tenant] <= self._virtual_time:
            del self._served[tenant]  # it would rejoin at the virtual time anyway
