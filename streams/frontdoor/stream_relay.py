"""What the front door writes to an HTTP stream as chunks arrive from the gateway.

The gateway sends a ``restart`` chunk when a provider failed mid-stream and the
next target starts over: every chunk before it is void. Text that was already
written to the HTTP client cannot be taken back, so the relay reconciles:

- Nothing written yet: the restart simply discards the void text.
- Text written: the new attempt's text is held back while it repeats what was
  written; once it goes beyond, only the new part is written (deterministic
  providers and cache hits continue seamlessly). If it says something else, the
  stream is void: :class:`~tokenyard.errors.StreamInterrupted` ends it with an error
  event instead of ``[DONE]``, and the client may retry (with the same
  ``Idempotency-Key``, the gateway answers from the same request).

Chunks with a ``seq`` at or below the last one seen are redeliveries (at-least-once
Kafka, or a worker that restarted the request) and are skipped. Whatever happened
mid-stream, :meth:`StreamRelay.on_reply` checks the final reply: a stream ends with
``[DONE]`` only when the text written is exactly the reply's content.
"""

from __future__ import annotations

from tokenyard.errors import StreamInterrupted
from tokenyard.schemas.records import Chunk


class StreamRelay:
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.written = ""  # text the HTTP client has received
        self._attempt = ""  # text of the current attempt
        self._replaying = False  # the current attempt has not yet caught up with ``written``
        self._last_seq = -1

    def on_chunk(self, chunk: Chunk) -> str:
        """The text to write now for ``chunk`` (possibly empty)."""
        if chunk.seq <= self._last_seq:
            return ""
        self._last_seq = chunk.seq
        if chunk.restart:
            self._attempt = ""
            self._replaying = bool(self.written)
        self._attempt += chunk.delta
        if self._replaying:
            if self.written.startswith(self._attempt):
                return ""
            if not self._attempt.startswith(self.written):
                raise self._void("the provider switched mid-stream and the new answer differs")
            self._replaying = False
        new = self._attempt[len(self.written):]
        self.written = self._attempt
        return new

    def on_reply(self, content: str) -> str:
        """The text still to write before ``[DONE]``; raises if the stream is void."""
        if not content.startswith(self.written):
            raise self._void("the streamed text does not match the final answer")
        new = content[len(self.written):]
        self.written = content
        return new

    def _void(self, why: str) -> StreamInterrupted:
        return StreamInterrupted(
            f"stream {self.request_id} cannot be completed: {why}; retry the request",
            request_id=self.request_id,
        )
