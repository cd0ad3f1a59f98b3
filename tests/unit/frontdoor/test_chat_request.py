from __future__ import annotations

from typing import Any

import pytest

from tokenyard.errors import InvalidRequest, UnknownRoute
from tokenyard.schemas.records import Role
from tokenyard.streams.frontdoor.chat_request import parse_chat_call

ROUTES = ("default", "fallback")


def body(**changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {"model": "default", "messages": [{"role": "user", "content": "Hi"}]}
    value.update(changes)
    return value


def test_a_full_openai_body_becomes_a_call() -> None:
    call = parse_chat_call(
        body(
            messages=[
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Hello "}, {"type": "text", "text": "there"}]},
                {"role": "assistant", "content": None},
                {"role": "user", "content": "again", "name": "bob"},
            ],
            temperature=0.2, top_p=0.9, max_completion_tokens=50, stop="END", seed=7,
            presence_penalty=0.1, frequency_penalty=-0.1, response_format={"type": "json_object"},
            stream=True, stream_options={"include_usage": True}, user="u-1", metadata={"app": "docs"},
            n=1, logprobs=False, store=False,
        ),
        ROUTES,
    )
    assert call.route == "default" and call.stream and call.include_usage
    assert [m.role for m in call.messages] == [Role.system, Role.user, Role.assistant, Role.user]
    assert call.messages[1].content == "Hello there" and call.messages[2].content == ""
    assert call.messages[3].name == "bob"
    assert call.params.max_tokens == 50 and call.params.stop == ["END"] and call.params.seed == 7
    assert call.params.response_format == "json_object" and call.params.temperature == 0.2
    assert call.metadata == {"app": "docs", "user": "u-1"}


def test_defaults_stream_off_without_usage() -> None:
    call = parse_chat_call(body(stream=None), ROUTES)
    assert not call.stream and not call.include_usage and call.params.temperature is None


def test_an_unknown_model_is_unknown_route_naming_it() -> None:
    with pytest.raises(UnknownRoute, match="`gpt-99` does not exist") as info:
        parse_chat_call(body(model="gpt-99", temperature=9), ROUTES)
    assert info.value.details["param"] == "model"


@pytest.mark.parametrize(
    ("changes", "param", "message"),
    [
        ({"model": None}, "model", "must provide a model"),
        ({"messages": None}, "messages", "Missing required parameter"),
        ({"messages": []}, "messages", "non-empty array"),
        ({"messages": ["hi"]}, "messages[0]", "must be an object"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role", "Invalid value"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content", "string or an array"),
        ({"messages": [{"role": "user", "content": None}]}, "messages[0].content", "string or an array"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
         "messages[0].content[0]", "text content parts"),
        ({"messages": [{"role": "user", "content": "x", "colour": "red"}]}, "messages[0]", "colour"),
        ({"messages": [{"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]}]},
         "messages[0].tool_calls", "tool calls"),
        ({"messages": [{"role": "system", "content": "only system"}]}, "messages", "non-system"),
        ({"temperature": 7}, "temperature", "less than or equal to 2"),
        ({"top_p": 0}, "top_p", "greater than 0"),
        ({"max_tokens": 0}, "max_tokens", "greater than or equal to 1"),
        ({"max_tokens": 5, "max_completion_tokens": 6}, "max_completion_tokens", "not both"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "at most 4"),
        ({"response_format": {"type": "json_schema"}}, "response_format", "'text' and 'json_object'"),
        ({"stream": "yes"}, "stream", "boolean"),
        ({"stream_options": {"include_usage": True}}, "stream_options", "only allowed when 'stream'"),
        ({"stream": True, "stream_options": {"include_usage": "y"}}, "stream_options.include_usage", "boolean"),
        ({"stream": True, "stream_options": {"other": 1}}, "stream_options", "only takes"),
        ({"n": 2}, "n", "n=1"),
        ({"logprobs": True}, "logprobs", "logprobs"),
        ({"tools": [{"type": "function"}]}, "tools", "does not support 'tools'"),
        ({"frobnicate": 1}, "frobnicate", "Unrecognized request argument"),
        ({"metadata": {"a": 1}}, "metadata", "string values"),
        ({"metadata": {f"k{i}": "v" for i in range(40)}}, "metadata", "Invalid value for 'metadata'"),
        ({"user": 5}, "user", "must be a string"),
    ],
)
def test_invalid_bodies_name_the_parameter(changes: dict[str, Any], param: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message) as info:
        parse_chat_call(body(**changes), ROUTES)
    assert info.value.details["param"] == param


@pytest.mark.parametrize("value", [[], "text", 3, None])
def test_a_body_that_is_not_an_object_is_refused(value: Any) -> None:
    with pytest.raises(InvalidRequest, match="JSON object"):
        parse_chat_call(value, ROUTES)


def test_empty_unsupported_fields_are_accepted_as_absent() -> None:
    assert parse_chat_call(body(tools=[], tool_choice=None), ROUTES).route == "default"
