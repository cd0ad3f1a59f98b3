"""Every topic tokenyard uses, declared once.

Names derive from ``kafka.topic_prefix``. Keys: requests and cache entries are
keyed by tenant (so one worker owns all of a tenant's state), replies and
chunks by request_id, usage events by request_id, dead letters by source key.
State topics (``completions``, ``cache``, ``admission``) and ``deferred`` have as many partitions as ``requests`` and are
written partition-for-partition (see streams/partition_state.py).
Provider-account quota (agents/quota.py): ``quota`` is keyed by account (lease
requests, returns and rate reports to the account's owner), ``quota-state`` is
its owner's ledger snapshots (partition-for-partition with ``quota``), and
``quota-grants`` (one partition, read by every worker) carries the answers.
Values are raw bytes: stages decode them themselves so a malformed event can be
dead-lettered with its original bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from tokenyard.streams.settings import KafkaSettings


@dataclass(frozen=True)
class TopicNames:
    requests: str
    replies: str
    usage: str
    dead_letters: str
    cache: str
    completions: str
    admission: str
    deferred: str
    quota: str
    quota_state: str
    quota_grants: str

    @classmethod
    def from_settings(cls, kafka: KafkaSettings) -> TopicNames:
        p = kafka.topic_prefix
        return cls(
            requests=f"{p}.requests",
            replies=f"{p}.replies",
            usage=f"{p}.usage",
            dead_letters=f"{p}.dead-letters",
            cache=f"{p}.cache",
            completions=f"{p}.completions",
            admission=f"{p}.admission",
            deferred=f"{p}.deferred",
            quota=f"{p}.quota",
            quota_state=f"{p}.quota-state",
            quota_grants=f"{p}.quota-grants",
        )

    def partition_counts(self, kafka: KafkaSettings) -> dict[str, int]:
        """Every topic with the partitions it must have. State topics and ``deferred``
        match ``requests``: they are written partition-for-partition."""
        per_request = kafka.request_partitions
        counts = {
            self.requests: per_request, self.deferred: per_request, self.cache: per_request,
            self.completions: per_request, self.admission: per_request,
            self.replies: kafka.reply_partitions, self.usage: kafka.usage_partitions,
            self.dead_letters: 1,
        }
        return counts

    def all(self) -> frozenset[str]:
        """Every topic of the deployment (the default reply topic included)."""
        return self.internal() | {self.replies}

    def internal(self) -> frozenset[str]:
        """Topics a request may never name as its ``reply_to``."""
        return frozenset({
            self.requests, self.usage, self.dead_letters, self.cache, self.completions,
            self.admission, self.deferred, self.quota, self.quota_state, self.quota_grants,
        })


@dataclass(frozen=True)
class Topics:
    """The Faust topic objects of one app."""

    names: TopicNames
    requests: faust.TopicT
    deferred: faust.TopicT
    quota: faust.TopicT
    usage: faust.TopicT
    dead_letters: faust.TopicT


def declare(app: faust.App, kafka: KafkaSettings) -> Topics:
    names = TopicNames.from_settings(kafka)

    def raw(name: str, partitions: int, **kw: object) -> faust.TopicT:
        return app.topic(
            name, partitions=partitions, key_serializer="raw", value_serializer="raw", **kw
        )

    return Topics(
        names=names,
        requests=raw(names.requests, kafka.request_partitions),
        deferred=raw(names.deferred, kafka.request_partitions),
        quota=raw(names.quota, kafka.request_partitions),
        usage=raw(names.usage, kafka.usage_partitions),
        dead_letters=raw(names.dead_letters, 1),
    )
