"""The fake provider over real loopback HTTP: behaviours, scripts, call counts."""

from __future__ import annotations

import httpx
import pytest

from tokenyard.providers.fake_behaviour import echo_answer, parse_behaviour
from tokenyard.providers.fake_server import FakeProviderServer, serve_in_thread

MESSAGES = [{"role": "user", "content": "hello there"}]


@pytest.fixture
async def fake():
    async with FakeProviderServer() as server:
        yield server


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def _chat(http, fake, model, **extra):
    return await http.post(f"{fake.openai_base_url}/chat/completions", json={"model": model, "messages": MESSAGES, **extra})


def test_behaviour_names_parse_and_labels_are_ignored():
    assert parse_behaviour("echo@a").kind == "echo"
    assert parse_behaviour("fail-429").arg == 429
    assert parse_behaviour("slow-first-byte-250").kind == "slow_first_byte"
    assert parse_behaviour("cut-after-3").arg == 3
    assert parse_behaviour("gpt-4o") is None
    assert parse_behaviour("echo-extra") is None


def test_echo_answer_is_deterministic_and_honours_max_tokens():
    answer = echo_answer(["be brief", "hello there"], None)
    assert answer == echo_answer(["be brief", "hello there"], None)
    assert (answer.content, answer.finish_reason) == ("echo: hello there", "stop")
    assert answer.input_tokens == (2 + 4) + (3 + 4) + 3
    capped = echo_answer(["a long question " * 10], 2)
    assert capped.finish_reason == "length" and capped.output_tokens == 2 and len(capped.content) == 8


async def test_echo_json_and_call_counts(fake, http):
    response = await _chat(http, fake, "echo@a")
    assert response.status_code == 200
    body = response.json()
    assert body["choices"][0]["message"]["content"] == "echo: hello there"
    assert body["usage"]["prompt_tokens"] > 0
    await _chat(http, fake, "echo@a")
    assert fake.calls("echo@a") == 2 and fake.calls("echo@b") == 0 and fake.total_calls() == 2
    assert fake.last_request("echo@a")["messages"] == MESSAGES


async def test_fail_429_sends_retry_after(fake, http):
    response = await _chat(http, fake, "fail-429")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert "error" in response.json()


async def test_script_runs_outcomes_in_order_then_name_behaviour(fake, http):
    fake.script("echo@s", ["fail-500", "fail-503"])
    statuses = [(await _chat(http, fake, "echo@s")).status_code for _ in range(3)]
    assert statuses == [500, 503, 200]
    assert fake.calls("echo@s") == 3
    with pytest.raises(ValueError, match="nonsense"):
        fake.script("x", ["nonsense"])


async def test_unknown_model_is_404_and_bad_body_is_400(fake, http):
    assert (await _chat(http, fake, "gpt-4o")).status_code == 404
    response = await http.post(f"{fake.openai_base_url}/chat/completions", content=b"[]")
    assert response.status_code == 400


async def test_context_limit_by_prompt_chars(fake, http):
    assert (await _chat(http, fake, "context-100")).status_code == 200
    response = await _chat(http, fake, "context-5")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"


async def test_stream_usage_only_when_asked(fake, http):
    with_usage = await _chat(http, fake, "echo", stream=True, stream_options={"include_usage": True})
    without = await _chat(http, fake, "echo", stream=True)
    assert with_usage.text.endswith("data: [DONE]\n\n") and without.text.endswith("data: [DONE]\n\n")
    assert '"prompt_tokens"' in with_usage.text and '"prompt_tokens"' not in without.text


async def test_cut_after_ends_cleanly_without_done(fake, http):
    response = await _chat(http, fake, "cut-after-2", stream=True)
    assert response.status_code == 200
    assert response.text.count("data: ") == 2 and "[DONE]" not in response.text


async def test_anthropic_requires_version_and_max_tokens(fake, http):
    url = f"{fake.anthropic_base_url}/v1/messages"
    body = {"model": "echo", "messages": MESSAGES}
    assert (await http.post(url, json={**body, "max_tokens": 5})).status_code == 400
    headers = {"anthropic-version": "2023-06-01"}
    missing = await http.post(url, json=body, headers=headers)
    assert missing.status_code == 400 and "max_tokens" in missing.json()["error"]["message"]
    ok = await http.post(url, json={**body, "max_tokens": 50, "system": "be brief"}, headers=headers)
    assert ok.json()["content"][0]["text"] == "echo: hello there"
    assert ok.json()["usage"]["input_tokens"] == (2 + 4) + (3 + 4) + 3


def test_serve_in_thread_for_synchronous_callers():
    with serve_in_thread() as server:
        response = httpx.post(f"{server.openai_base_url}/chat/completions", json={"model": "echo", "messages": MESSAGES})
        assert response.status_code == 200
        assert server.calls("echo") == 1
