from __future__ import annotations

from tokenyard.agents.completed import SETTLED, CompletedRequests, intent_record


def test_intents_without_a_reply_are_unfinished_calls() -> None:
    view = CompletedRequests()
    view.apply(b"r1", intent_record("a"))
    view.apply(b"r1", intent_record("a"))  # a replay applies a record twice
    view.apply(b"r1", intent_record("b"))
    assert view.unfinished_calls("r1") == 2 and view.reply_for("r1") is None
    view.apply(b"r1", b'{"status": "ok"}')
    assert view.unfinished_calls("r1") == 0 and view.reply_for("r1") == b'{"status": "ok"}'


def test_a_settled_request_has_no_unfinished_calls_and_no_reply_to_replay() -> None:
    view = CompletedRequests()
    view.apply(b"r2", intent_record("a"))
    view.apply(b"r2", SETTLED)
    assert view.unfinished_calls("r2") == 0 and view.reply_for("r2") is None
