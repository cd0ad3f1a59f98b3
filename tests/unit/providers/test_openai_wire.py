"""OpenAI wire transforms: request -> payload, payload -> Completion, chunk folding."""

from __future__ import annotations

import orjson
import pytest

from tokenyard.errors import BadProviderResponse, ContentFiltered, ProviderServerError, StreamInterrupted
from tokenyard.providers.base import Delta
from tokenyard.providers.openai_wire import StreamAssembler, from_payload, to_payload
from tokenyard.schemas.records import Request, Usage


def _request(**overrides):
    raw = {
        "request_id": "r1",
        "tenant": "t",
        "model": "route",
        "reply_to": "replies",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    }
    raw.update(overrides)
    return Request.model_validate(raw)


def test_minimal_payload_sends_only_what_was_set():
    assert to_payload(_request(), "gpt-x") == {
        "model": "gpt-x",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    }


def test_params_map_and_max_tokens_field_is_chosen():
    request = _request(params={"temperature": 0.2, "max_tokens": 50, "stop": ["\n"], "seed": 3, "response_format": "json_object"})
    payload = to_payload(request, "gpt-x", max_tokens_field="max_completion_tokens")
    assert payload["max_completion_tokens"] == 50 and "max_tokens" not in payload
    assert payload["temperature"] == 0.2 and payload["stop"] == ["\n"] and payload["seed"] == 3
    assert payload["response_format"] == {"type": "json_object"}


def test_stream_payload_asks_for_usage():
    payload = to_payload(_request(), "m", stream=True)
    assert payload["stream"] is True
    assert payload["stream_options"] == {"include_usage": True}


def _body(content="Hello", finish="stop", usage=None, **message):
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, **message}, "finish_reason": finish}],
        **({"usage": usage} if usage is not None else {}),
    }


def test_usage_includes_cached_and_reasoning_tokens():
    usage = {
        "prompt_tokens": 100, "completion_tokens": 40, "total_tokens": 140,
        "prompt_tokens_details": {"cached_tokens": 64}, "completion_tokens_details": {"reasoning_tokens": 30},
    }
    completion = from_payload(_body(usage=usage), "openai", "o3")
    assert completion.usage == Usage(input_tokens=100, output_tokens=40, cached_input_tokens=64, reasoning_tokens=30)
    assert (completion.content, completion.finish_reason, completion.raw_id) == ("Hello", "stop", "chatcmpl-1")
    assert not completion.usage_missing


def test_missing_usage_is_flagged_not_silently_zero():
    completion = from_payload(_body(), "p", "m")
    assert completion.usage_missing and completion.usage == Usage()


@pytest.mark.parametrize(
    "body",
    [{}, {"choices": []}, {"choices": [{"message": None}]}, {"choices": [{"message": {"content": 5}}]}],
)
def test_unreadable_bodies_are_bad_responses(body):
    with pytest.raises(BadProviderResponse):
        from_payload(body, "p", "m")


def test_content_filter_and_refusal_are_errors():
    with pytest.raises(ContentFiltered):
        from_payload(_body(finish="content_filter"), "p", "m")
    with pytest.raises(ContentFiltered, match="refusal"):
        from_payload(_body(content=None, refusal="I can't help with that"), "p", "m")


def _chunk(content=None, finish=None, usage=None, choices=True):
    chunk = {"id": "c1", "object": "chat.completion.chunk", "choices": []}
    if choices:
        delta = {} if content is None else {"content": content}
        chunk["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    if usage is not None:
        chunk["usage"] = usage
    return orjson.dumps(chunk).decode()


def test_assembler_folds_chunks_into_deltas_and_one_completion():
    assembler = StreamAssembler("p", "m")
    out = [assembler.feed(d) for d in (_chunk(""), _chunk("Hel"), _chunk("lo"), _chunk(finish="stop"),
                                       _chunk(choices=False, usage={"prompt_tokens": 5, "completion_tokens": 2}), "[DONE]")]
    assert [d for d in out if d is not None] == [Delta("Hel"), Delta("lo")]
    completion = assembler.finish()
    assert completion.content == "Hello" and completion.finish_reason == "stop"
    assert completion.usage == Usage(input_tokens=5, output_tokens=2)


def test_stream_cut_before_finish_is_interrupted():
    assembler = StreamAssembler("p", "m")
    assembler.feed(_chunk("Hel"))
    with pytest.raises(StreamInterrupted, match="after 1 chunks"):
        assembler.finish()


def test_stream_with_finish_but_no_usage_is_complete_with_usage_missing():
    assembler = StreamAssembler("p", "m")
    assembler.feed(_chunk("a", finish="stop"))
    completion = assembler.finish()
    assert completion.content == "a" and completion.usage_missing


def test_error_event_mid_stream_and_garbage_chunks():
    with pytest.raises(ProviderServerError):
        StreamAssembler("p", "m").feed('{"error": {"message": "boom", "type": "server_error"}}')
    with pytest.raises(BadProviderResponse):
        StreamAssembler("p", "m").feed("{not json")
    with pytest.raises(ContentFiltered):
        StreamAssembler("p", "m").feed(_chunk(finish="content_filter"))
