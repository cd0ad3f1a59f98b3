"""Which requests this partition already answered: the invoke stage's memory.

A view of the ``completions`` state topic (see streams/partition_state.py):
key = request_id, value = the final reply as published. A redelivered request
(after a crash, a rebalance, or a client resending the same request_id) is
answered from here instead of paying a provider again. Bounded per partition:
the oldest entries go first.
"""

from __future__ import annotations

from collections import OrderedDict

from tokenyard.streams.partition_state import MARKER_KEY


class CompletedRequests:
    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self._replies: OrderedDict[str, bytes] = OrderedDict()

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None or key == MARKER_KEY or value is None:
            return
        request_id = key.decode("utf-8", "replace")
        self._replies[request_id] = value
        self._replies.move_to_end(request_id)
        while len(self._replies) > self.max_entries:
            self._replies.popitem(last=False)

    def reply_for(self, request_id: str) -> bytes | None:
        return self._replies.get(request_id)

    def __len__(self) -> int:
        return len(self._replies)


def worth_remembering(status: str, error_code: str | None, retriable: bool) -> bool:
    """Answers a redelivery must repeat: successes and final (non-retriable) errors.

    A retriable failure (everything rate limited, say) is not remembered, so the
    same request_id sent again later gets a fresh try.
    """
    return status == "ok" or not retriable
