from __future__ import annotations

import orjson
import pytest

from tokenyard.agents.intake import IntakeRules, accept, expired
from tokenyard.errors import PromptTooLarge, UnknownReplyTopic, UnknownRoute

RULES = IntakeRules(
    max_prompt_chars=100,
    reply_topic_patterns=("tokenyard.replies", "tokenyard.replies.*", "*.replies"),
    internal_topics=frozenset({"tokenyard.requests", "tokenyard.usage"}),
    has_route={"default", "cheap"}.__contains__,
)


def raw(**changes) -> bytes:
    value = {
        "request_id": "r1",
        "tenant": "acme",
        "model": "default",
        "messages": [{"role": "user", "content": "hello"}],
        "reply_to": "tokenyard.replies",
    }
    value.update(changes)
    return orjson.dumps(value)


def test_a_good_request_is_accepted() -> None:
    request = accept(raw(), RULES)
    assert request.request_id == "r1" and request.model == "default"


def test_unknown_route() -> None:
    with pytest.raises(UnknownRoute, match="'gpt-9'"):
        accept(raw(model="gpt-9"), RULES)


def test_prompt_over_the_limit_counts_every_message() -> None:
    messages = [{"role": "system", "content": "s" * 60}, {"role": "user", "content": "u" * 41}]
    with pytest.raises(PromptTooLarge) as info:
        accept(raw(messages=messages), RULES)
    assert info.value.details == {"prompt_chars": 101, "limit": 100}
    assert accept(raw(messages=messages[1:]), RULES)


@pytest.mark.parametrize("topic", ["tokenyard.requests", "tokenyard.usage", "payments.orders", "replies"])
def test_reply_topics_outside_the_allow_list_are_refused(topic: str) -> None:
    with pytest.raises(UnknownReplyTopic):
        accept(raw(reply_to=topic), RULES)


@pytest.mark.parametrize("topic", ["tokenyard.replies", "tokenyard.replies.billing", "billing.replies"])
def test_reply_topics_in_the_allow_list(topic: str) -> None:
    assert accept(raw(reply_to=topic), RULES).reply_to == topic


def test_deadline() -> None:
    request = accept(raw(deadline_ms=1_000), RULES)
    assert expired(request, 999) is None
    err = expired(request, 1_250)
    assert err is not None and err.code == "deadline_exceeded" and "250 ms" in err.message
    assert expired(accept(raw(), RULES), 10**15) is None
