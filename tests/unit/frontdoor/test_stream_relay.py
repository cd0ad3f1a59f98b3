from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenyard.errors import StreamInterrupted
from tokenyard.schemas.records import Chunk
from tokenyard.streams.frontdoor.stream_relay import StreamRelay


def chunk(seq: int, delta: str = "", restart: bool = False) -> Chunk:
    return Chunk(request_id="r1", seq=seq, delta=delta, restart=restart)


def feed(relay: StreamRelay, chunks: list[Chunk]) -> str:
    return "".join(relay.on_chunk(c) for c in chunks)


def test_plain_chunks_are_written_as_they_come() -> None:
    relay = StreamRelay("r1")
    assert [relay.on_chunk(c) for c in [chunk(0, "Hel"), chunk(1, "lo")]] == ["Hel", "lo"]
    assert relay.on_reply("Hello") == ""


def test_a_restart_before_any_text_was_written_discards_nothing_visible() -> None:
    relay = StreamRelay("r1")
    assert feed(relay, [chunk(0, ""), chunk(1, "", restart=True), chunk(2, "Fresh")]) == "Fresh"
    assert relay.on_reply("Fresh") == ""


def test_a_restart_repeating_the_written_text_continues_seamlessly() -> None:
    relay = StreamRelay("r1")
    written = feed(relay, [chunk(0, "The cat "), chunk(1, "sat", restart=False)])
    written += feed(relay, [chunk(2, "", restart=True), chunk(3, "The "), chunk(4, "cat s"), chunk(5, "at on"), chunk(6, " it")])
    assert written == "The cat sat on it"
    assert relay.on_reply("The cat sat on it") == ""


def test_a_restart_saying_something_else_voids_the_stream() -> None:
    relay = StreamRelay("r1")
    feed(relay, [chunk(0, "The cat")])
    assert relay.on_chunk(chunk(1, "", restart=True)) == ""
    assert relay.on_chunk(chunk(2, "The")) == ""  # still a prefix: held back
    with pytest.raises(StreamInterrupted, match="new answer differs"):
        relay.on_chunk(chunk(3, " dog"))


def test_redelivered_chunks_are_skipped() -> None:
    relay = StreamRelay("r1")
    assert feed(relay, [chunk(0, "a"), chunk(1, "b"), chunk(1, "b"), chunk(0, "a"), chunk(2, "c")]) == "abc"


def test_the_reply_writes_what_no_chunk_carried() -> None:
    relay = StreamRelay("r1")  # a cache hit answers a stream with the reply alone
    assert relay.on_reply("whole answer") == "whole answer"


def test_a_reply_that_contradicts_the_written_text_voids_the_stream() -> None:
    relay = StreamRelay("r1")
    feed(relay, [chunk(0, "abc")])
    with pytest.raises(StreamInterrupted, match="does not match the final answer"):
        relay.on_reply("abd")


def test_a_restart_whose_answer_is_shorter_than_what_was_written_is_void() -> None:
    relay = StreamRelay("r1")
    feed(relay, [chunk(0, "long answer"), chunk(1, "", restart=True), chunk(2, "long")])
    with pytest.raises(StreamInterrupted):
        relay.on_reply("long")


@given(st.lists(st.text(max_size=5), max_size=20), st.integers(min_value=0, max_value=20))
def test_written_text_is_always_a_prefix_of_a_faithful_retry(deltas: list[str], cut: int) -> None:
    """A first attempt cut anywhere, then a restart replaying the same answer: the
    client sees the answer exactly once."""
    answer = "".join(deltas)
    relay = StreamRelay("r1")
    first = [chunk(i, d) for i, d in enumerate(deltas[:cut])]
    seq = len(first)
    second = [chunk(seq, "", restart=True)] + [chunk(seq + 1 + i, d) for i, d in enumerate(deltas)]
    written = feed(relay, first + second) + relay.on_reply(answer)
    assert written == answer
