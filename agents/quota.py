"""Provider-account quota across workers: the lease owner agent and the worker's lease client.

Why leases, and the invariant they keep, are in :mod:`tokenyard.admission.accounts`.
This module moves the messages (:mod:`tokenyard.admission.quota_messages`) and
keeps the state; the decisions are the pure steps of
:mod:`tokenyard.admission.quota_flow`.

* :class:`QuotaOwner` (a Faust agent on ``<prefix>.quota``, keyed by account,
  concurrency 1): the worker owning an account's partition owns its
  :class:`LeaseLedger`. Each message is one step: the ledger and the account's
  adaptive rate change, a versioned snapshot of both is written to
  ``<prefix>.quota-state`` (partition-for-partition with ``quota``) and only
  once it is durable does the answer go out on ``<prefix>.quota-grants``.
  After a restart or rebalance the new owner rebuilds the ledgers exactly
  (:class:`PartitionState`, replay up to its own marker), so a rebuilt ledger
  has granted at least every lease that ever left: **an owner restart never
  over-grants**. What it can lose is a lease persisted but not yet sent (the
  window's quota is then under-used, never over-used). One residual window:
  during a rebalance the old owner may still finish the message it is
  handling after the new owner wrote its marker; that snapshot is missed, so
  the bound is one lease per ownership change of an account.
* :class:`QuotaClient` (one per worker process): this worker's
  :class:`AccountState` per account, in memory only. It is *not* rebuilt
  after a restart, on purpose: a restarted worker has a new ``worker_id`` and
  holds nothing; what the dead one held expires with its window. It reads the
  grants topic (one partition, every worker reads it and keeps what is
  addressed to it or to all) from a marker it writes at start, so it never
  replays history.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition

from tokenyard.admission.accounts import AccountState, Lease, LeaseDenied, LeaseLedger, LeaseRequest
from tokenyard.admission.adaptive import AdaptiveRate
from tokenyard.admission.config import AdmissionConfig, AimdPolicy
from tokenyard.admission.quota_flow import fold_grant, serve_quota_message
from tokenyard.admission.quota_messages import (
    BROADCAST,
    RateReport,
    RateUpdate,
    decode,
    encode,
    ledger_snapshot,
    restore_ledger,
)
from tokenyard.schemas.records import Request
from tokenyard.streams.broker import ensure_topics
from tokenyard.streams.kafka_security import PLAINTEXT, KafkaSecurity
from tokenyard.streams.offset_holes import GaplessConsumer
from tokenyard.streams.partition_state import MARKER_KEY, PartitionState

log = logging.getLogger(__name__)

# (topic, key, value) -> awaitable acknowledged by the broker
SendAndWait = Callable[[str, bytes | None, bytes], Awaitable[Any]]


class LedgerBook:
    """The owner's view of one quota-state partition: account -> (version, ledger, rate)."""

    def __init__(self, config: AdmissionConfig) -> None:
        self.config = config
        self._entries: dict[str, tuple[int, LeaseLedger, AdaptiveRate]] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None or key == MARKER_KEY or value is None:
            return
        account = key.decode()
        limits = self.config.account(account)
        if limits is None:
            return  # no longer limited: nothing to enforce
        record = orjson.loads(value)
        if int(record["version"]) > self._entries.get(account, (0, None, None))[0]:
            self._entries[account] = restore_ledger(record, account, limits, self.config.aimd)

    def get(self, account: str) -> tuple[LeaseLedger, AdaptiveRate]:
        entry = self._entries.get(account)
        if entry is not None:
            return entry[1], entry[2]
        limits = self.config.account(account)
        assert limits is not None, f"account {account!r} has no limits"
        return LeaseLedger.for_account(account, limits), AdaptiveRate(policy=self.config.aimd)

    def put(self, account: str, ledger: LeaseLedger, rate: AdaptiveRate) -> bytes:
        """Replace the account's entry locally; returns the snapshot record to persist."""
        version = self._entries.get(account, (0, None, None))[0] + 1
        self._entries[account] = (version, ledger, rate)
        return ledger_snapshot(version, ledger, rate)


class QuotaOwner:
    def __init__(
        self,
        *,
        config: AdmissionConfig,
        states: PartitionState[LedgerBook],
        send: SendAndWait,
        grants_topic: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.states = states
        self.send = send
        self.grants_topic = grants_topic
        self.clock = clock

    async def handle(self, raw: bytes | None, partition: int) -> None:
        """One quota-topic record; a bad one is logged and skipped, never fatal."""
        try:
            message = decode(raw)
        except ValueError as err:
            log.warning("skipping a bad quota record on partition %d: %s", partition, err)
            return
        if isinstance(message, (Lease, LeaseDenied, RateUpdate)):
            log.warning("skipping a %s on the quota topic (it belongs on the grants topic)", type(message).__name__)
            return
        if self.config.account(message.account) is None:
            log.warning("worker %s asked about account %r, which has no limits here: configs differ?",
                        message.worker_id, message.account)
            return
        book = await self.states.view(partition)
        ledger, rate = book.get(message.account)
        ledger, rate, answer = serve_quota_message(ledger, rate, message, self.clock())
        snapshot = book.put(message.account, ledger, rate)
        # Write-ahead: the ledger is durable before the lease it implies leaves.
        await self.states.append(partition, message.account.encode(), snapshot)
        if answer is not None:
            await self.send(self.grants_topic, answer.worker_id.encode(), encode(answer))


def register_owner(app: Any, owner: QuotaOwner, quota_topic: Any) -> Any:
    """The owner agent: one message at a time per worker, so every step sees the last."""

    async def quota_agent(stream: Any) -> None:
        async for event in stream.events():
            await owner.handle(event.message.value, event.message.partition)

    return app.agent(quota_topic, name="tokenyard.quota", concurrency=1)(quota_agent)


class QuotaClient:
    """This worker's quota per provider account, fed by the owners' answers."""

    def __init__(
        self,
        *,
        bootstrap: str,
        quota_topic: str,
        grants_topic: str,
        send: SendAndWait,
        aimd: AimdPolicy,
        fetch_max_wait_ms: int = 10,
        clock: Callable[[], float] = time.time,
        worker_id: str | None = None,
        security: KafkaSecurity = PLAINTEXT,
    ) -> None:
        self.bootstrap = bootstrap
        self.security = security
        self.quota_topic = quota_topic
        self.grants_topic = grants_topic
        self.send = send
        self.aimd = aimd
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.clock = clock
        self.worker_id = worker_id or f"w-{uuid.uuid4().hex[:12]}"
        self._states: dict[str, AccountState] = {}
        self._reader: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self._listeners: list[Callable[[str], None]] = []
        self.grants_applied = 0

    def subscribe(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(account)`` after each grant, denial or rate update folded in."""
        self._listeners.append(listener)

    def get(self, account: str) -> AccountState:
        state = self._states.get(account)
        if state is None:
            state = AccountState.fresh(account, AdaptiveRate(policy=self.aimd))
        return state

    def put(self, account: str, state: AccountState) -> None:
        self._states[account] = state

    async def ready(self) -> None:
        """Start reading grants (once) before the first lease request leaves."""
        if self._reader is not None:
            return
        async with self._starting:
            if self._reader is None:
                start = await self._mark_grants()
                self._reader = asyncio.ensure_future(self._read_grants(start))

    async def ask(self, request: LeaseRequest) -> None:
        await self.send(self.quota_topic, request.account.encode(), encode(request))

    async def report(self, report: RateReport) -> None:
        await self.send(self.quota_topic, report.account.encode(), encode(report))

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None

    async def _mark_grants(self) -> int:
        """Where to start reading: a marker written now (tansu's end offsets are wrong)."""
        await ensure_topics(self.bootstrap, {self.grants_topic: 1}, self.security)
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", **self.security.client_kwargs())
        await producer.start()
        try:
            marker = await producer.send_and_wait(self.grants_topic, uuid.uuid4().bytes, key=MARKER_KEY, partition=0)
        finally:
            await producer.stop()
        return marker.offset + 1

    async def _read_grants(self, offset: int) -> None:
        tp = TopicPartition(self.grants_topic, 0)
        consumer = GaplessConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=self.fetch_max_wait_ms,
            **self.security.client_kwargs(),
        )
        await consumer.start()
        try:
            consumer.assign([tp])
            consumer.seek(tp, offset)
            while True:
                batch = await consumer.getmany(tp, timeout_ms=500, max_records=1000)
                for record in batch.get(tp, []):
                    if record.key == MARKER_KEY:
                        continue
                    self._fold(record.value)
        finally:
            await consumer.stop()

    def _fold(self, raw: bytes | None) -> None:
        try:
            message = decode(raw)
        except ValueError as err:
            log.warning("skipping a bad grants record: %s", err)
            return
        if not isinstance(message, (Lease, LeaseDenied, RateUpdate)):
            log.warning("skipping a %s on the grants topic", type(message).__name__)
            return
        if message.worker_id not in (self.worker_id, BROADCAST):
            return
        self._states[message.account] = fold_grant(self.get(message.account), message, self.clock())
        self.grants_applied += 1
        for listener in self._listeners:
            listener(message.account)


def first_target_account(chain_for: Callable[[Request], tuple[list[Any], Any]]) -> Callable[[Request], str | None]:
    """The account a request is charged to: the provider of the first target the
    router will call for it (A/B arm and low-priority chain included)."""

    def account_of(request: Request) -> str | None:
        chain, _ = chain_for(request)
        return chain[0].provider if chain else None

    return account_of
