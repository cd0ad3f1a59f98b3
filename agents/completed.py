"""Which requests this partition already answered: the invoke stage's memory.

A view of the ``completions`` state topic (see streams/partition_state.py):
key = request_id, value = the final reply as published. A redelivered request
(after a crash, a rebalance, or a client resending the same request_id) is
answered from here instead of paying a provider again. Bounded per partition:
the oldest entries go first.

Before each provider call the stage also writes an *intent* (value starting with
``INTENT_PREFIX``). An intent with no reply after it means a worker died while
that call was at the provider: the call may have been billed although no usage
row was ever published. The redelivered copy reports those as lost attempts, so
analytics show the crash-window payments instead of hiding them.
"""

from __future__ import annotations

from collections import OrderedDict

from tokenyard.streams.partition_state import MARKER_KEY


INTENT_PREFIX = b"intent:"
# Written instead of a reply when the answer must not be replayed (a retriable
# error): the calls were reported, so their intents are settled.
SETTLED = b"settled:"


def intent_record(execution_id: str) -> bytes:
    return INTENT_PREFIX + execution_id.encode()


class CompletedRequests:
    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self._replies: OrderedDict[str, bytes] = OrderedDict()
        self._intents: OrderedDict[str, set[bytes]] = OrderedDict()

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None or key == MARKER_KEY or value is None:
            return
        request_id = key.decode("utf-8", "replace")
        if value.startswith(SETTLED):
            self._intents.pop(request_id, None)
            return
        if value.startswith(INTENT_PREFIX):
            self._intents.setdefault(request_id, set()).add(value)  # a set: replays apply twice
            self._intents.move_to_end(request_id)
            _bound(self._intents, self.max_entries)
            return
        self._replies[request_id] = value
        self._replies.move_to_end(request_id)
        self._intents.pop(request_id, None)
        _bound(self._replies, self.max_entries)

    def reply_for(self, request_id: str) -> bytes | None:
        return self._replies.get(request_id)

    def unfinished_calls(self, request_id: str) -> int:
        """Provider calls started for ``request_id`` that never reached a reply."""
        return len(self._intents.get(request_id, ()))

    def __len__(self) -> int:
        return len(self._replies)


def _bound(entries: OrderedDict[str, object], limit: int) -> None:
    while len(entries) > limit:
        entries.popitem(last=False)


def worth_remembering(status: str, error_code: str | None, retriable: bool) -> bool:
    """Answers a redelivery must repeat: successes and final (non-retriable) errors.

    A retriable failure (everything rate limited, say) is not remembered, so the
    same request_id sent again later gets a fresh try.
    """
    return status == "ok" or not retriable
