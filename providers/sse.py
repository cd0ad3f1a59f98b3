"""Server-sent events, decoded line by line (the framing both vendors stream in).

Pure and incremental: feed it the lines of a response body as they arrive and it
returns each event once its terminating blank line has been seen. Follows the
WHATWG rules the vendors rely on: ``event:`` names the event, ``data:`` lines are
joined with newlines, lines starting with ``:`` are comments (keep-alives).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str


@dataclass
class SseDecoder:
    _event: str = ""
    _data: list[str] = field(default_factory=list)

    def feed_line(self, line: str) -> SseEvent | None:
        """Consume one line (without its line ending); return a completed event if any."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        # "id" and "retry" carry nothing the vendors use; unknown fields are ignored
        # as the spec requires.
        return None

    def flush(self) -> SseEvent | None:
        """An event left without its blank line when the body ended."""
        return self._dispatch()

    def _dispatch(self) -> SseEvent | None:
        if not self._data and not self._event:
            return None
        event = SseEvent(event=self._event or "message", data="\n".join(self._data))
        self._event = ""
        self._data = []
        return event
