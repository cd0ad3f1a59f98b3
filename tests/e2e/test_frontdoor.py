"""End to end through the front door: HTTP (httpx, curl, tokenyard's own OpenAI
client) -> `tokenyard serve` (a real child process) -> tansu -> gateway worker ->
fake provider over HTTP -> reply -> OpenAI JSON / SSE.

The official `openai` SDK is not installed in this environment; the wire format is
checked byte-level here and against OpenAI's real-wire goldens in the unit tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import dump_logs
from tests.e2e.pipeline import Pipeline, start_pipeline
from tokenyard.providers.base import CallTimeouts, Completion, Delta
from tokenyard.providers.config import ProviderConfig
from tokenyard.providers.factory import build_provider
from tokenyard.errors import ProviderServerError
from tokenyard.schemas.records import Request
from tokenyard.streams.broker import free_port

pytestmark = pytest.mark.broker

KEY = "sk-e2e-acme-key"
# A route whose first target breaks mid-stream after some text, so the gateway
# restarts the stream on the next target (which says the same thing).
EXTRA = """
[providers.fake.models."error-after-3"]
context_window = 8192

[routes.restart]
targets = ["fake:error-after-3", "fake:echo"]
"""


class FrontDoorProcess:
    """`tokenyard serve` as a child process, restartable."""

    def __init__(self, pipeline: Pipeline, tmp: Path) -> None:
        self.pipeline = pipeline
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.keys = tmp / "keys.toml"
        self.keys.write_text(f'[keys]\n"{KEY}" = "acme"\n')
        self.log = tmp / "logs" / "frontdoor.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "tokenyard.streams.cli", "--config", str(self.pipeline.config),
            "serve", "--port", str(self.port), "--keys", str(self.keys), "--timeout", "20",
        ]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tokenyard serve exited with {self.proc.returncode}: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"tokenyard serve did not listen within 30 s: {self.log.read_text()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=15)


@pytest.fixture(scope="module")
def door(broker, fake_provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FrontDoorProcess]:
    tmp = tmp_path_factory.mktemp("frontdoor")
    pipeline = start_pipeline(tmp, broker.bootstrap, fake_provider, extra=EXTRA)
    running = FrontDoorProcess(pipeline, tmp)
    try:
        running.start()
        _wait_until_answered(running)
    except BaseException:
        print(dump_logs(tmp / "logs"))
        if running.proc:
            running.kill()
        pipeline.stack.stop()
        raise
    yield running
    if running.proc and running.proc.poll() is None:
        running.kill(signal.SIGTERM)
    pipeline.stack.stop()


def _wait_until_answered(door: FrontDoorProcess) -> None:
    """The worker joins its group a few seconds after start; until then calls time out."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if door.pipeline.stack.dead_children():
            raise RuntimeError("a pipeline process exited during start-up")
        response = httpx.post(f"{door.url}/v1/chat/completions", json=chat("ready?"), headers=auth(), timeout=30)
        if response.status_code == 200:
            return
    raise RuntimeError("the pipeline never answered through the front door")


def auth(**extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}", **extra}


def chat(text: str, **fields: Any) -> dict[str, Any]:
    return {"model": "default", "messages": [{"role": "user", "content": text}], **fields}


def sse_bodies(text: str) -> list[Any]:
    events = text.split("\n\n")
    assert events[-1] == ""
    return [e if e == "data: [DONE]" else json.loads(e.removeprefix("data: ")) for e in events[:-1]]


def streamed_text(events: list[Any]) -> str:
    return "".join(
        e["choices"][0]["delta"].get("content") or "" for e in events if isinstance(e, dict) and e.get("choices")
    )


# -- httpx: the exact wire --------------------------------------------------------


async def test_completion_over_http(door: FrontDoorProcess) -> None:
    async with httpx.AsyncClient(base_url=door.url, timeout=30) as http:
        response = await http.post("/v1/chat/completions", json=chat("what is kafka?", max_tokens=50), headers=auth())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion" and body["model"] == "default"
    assert body["choices"][0]["message"]["content"] == "echo: what is kafka?"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["prompt_tokens"] > 0
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    assert body["id"] == f"chatcmpl-{response.headers['x-request-id']}"
    assert response.headers["x-tokenyard-provider-model"] == "echo"
    assert float(response.headers["x-tokenyard-cost-usd"]) > 0


async def test_stream_over_http_with_usage(door: FrontDoorProcess) -> None:
    body = chat("stream me please", stream=True, stream_options={"include_usage": True})
    async with httpx.AsyncClient(base_url=door.url, timeout=30) as http:
        async with http.stream("POST", "/v1/chat/completions", json=body, headers=auth()) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            raw = (await response.aread()).decode()
    events = sse_bodies(raw)
    assert events[-1] == "data: [DONE]"
    assert streamed_text(events) == "echo: stream me please"
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert events[-3]["choices"][0]["finish_reason"] == "stop"
    assert events[-2]["choices"] == [] and events[-2]["usage"]["completion_tokens"] > 0


async def test_a_provider_switch_mid_stream_reaches_the_client_as_one_answer(door: FrontDoorProcess) -> None:
    body = chat("restart this stream", model="restart", stream=True)
    broke_before = door.pipeline.fake.calls("error-after-3")
    async with httpx.AsyncClient(base_url=door.url, timeout=30) as http:
        response = await http.post("/v1/chat/completions", json=body, headers=auth())
    events = sse_bodies(response.text)
    # The first target sent part of the echo, failed, the second echoed it whole:
    # the relay held back the repeat and the client sees the answer exactly once.
    assert events[-1] == "data: [DONE]", events[-2:]
    assert streamed_text(events) == "echo: restart this stream"
    assert door.pipeline.fake.calls("error-after-3") > broke_before


async def test_many_concurrent_calls_share_one_front_door(door: FrontDoorProcess) -> None:
    async with httpx.AsyncClient(base_url=door.url, timeout=60) as http:
        responses = await asyncio.gather(
            *(http.post("/v1/chat/completions", json=chat(f"question {i}", stream=i % 2 == 0), headers=auth())
              for i in range(30))
        )
    for i, response in enumerate(responses):
        assert response.status_code == 200
        text = streamed_text(sse_bodies(response.text)) if i % 2 == 0 else response.json()["choices"][0]["message"]["content"]
        assert text == f"echo: question {i}"


async def test_errors_come_back_with_openai_status_codes(door: FrontDoorProcess) -> None:
    async with httpx.AsyncClient(base_url=door.url, timeout=30) as http:
        broken = await http.post("/v1/chat/completions", json=chat("doomed", model="broken"), headers=auth())
        stream_broken = await http.post(
            "/v1/chat/completions", json=chat("doomed", model="broken", stream=True), headers=auth()
        )
        unknown = await http.post("/v1/chat/completions", json=chat("hi", model="gpt-99"), headers=auth())
        bad_key = await http.post("/v1/chat/completions", json=chat("hi"), headers={"Authorization": "Bearer nope"})
        too_long = await http.post("/v1/chat/completions", json=chat("x" * 6000), headers=auth())
    assert broken.status_code == 502 and broken.json()["error"]["code"] == "all_targets_failed"
    assert "fake:fail-500" in broken.json()["error"]["message"]
    # nothing was streamed yet, so the stream failure is a real status, not an SSE event
    assert stream_broken.status_code == 502 and stream_broken.json()["error"]["code"] == "all_targets_failed"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    assert bad_key.status_code == 401 and bad_key.json()["error"]["code"] == "invalid_api_key"
    # refused by the gateway (worker.max_prompt_chars = 5000), mapped on the way back
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "prompt_too_large"


async def test_models_and_metrics(door: FrontDoorProcess) -> None:
    async with httpx.AsyncClient(base_url=door.url, timeout=30) as http:
        models = await http.get("/v1/models", headers=auth())
        metrics = (await http.get("/metrics")).text
    listed = {m["id"] for m in models.json()["data"]}
    assert listed == set(door.pipeline.settings.routes) and {"default", "restart"} <= listed
    assert 'tokenyard_frontdoor_requests_total{route="default",stream="false",outcome="ok"}' in metrics
    assert "tokenyard_frontdoor_request_duration_seconds_bucket" in metrics


# -- curl -------------------------------------------------------------------------


def curl(door: FrontDoorProcess, body: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "-N", "--max-time", "30", "-w", "\n%{http_code}", f"{door.url}/v1/chat/completions",
         "-H", "Content-Type: application/json", "-H", f"Authorization: Bearer {KEY}", "-d", json.dumps(body)],
        capture_output=True, text=True, check=True, timeout=40,
    )


def test_curl_completion_and_stream(door: FrontDoorProcess) -> None:
    plain = curl(door, chat("hello from curl"))
    body, status = plain.stdout.rsplit("\n", 1)
    assert status == "200" and json.loads(body)["choices"][0]["message"]["content"] == "echo: hello from curl"
    streamed = curl(door, chat("stream to curl", stream=True))
    body, status = streamed.stdout.rsplit("\n", 1)
    assert status == "200"
    events = sse_bodies(body)
    assert events[-1] == "data: [DONE]" and streamed_text(events) == "echo: stream to curl"


# -- an OpenAI client: tokenyard's own OpenAI provider pointed at the front door ---


async def test_tokenyards_openai_client_reads_the_front_door(door: FrontDoorProcess) -> None:
    config = ProviderConfig.model_validate({
        "kind": "openai", "base_url": f"{door.url}/v1", "api_key_env": "UNUSED", "models": {"default": {"context_window": 8192}, "broken": {"context_window": 8192}},
    })
    request = Request(request_id="via-sdk", tenant="x", model="default", reply_to="unused",
                      messages=[{"role": "user", "content": "sdk says hi"}])
    timeouts = CallTimeouts(connect=5, first_byte=30, total=30)
    async with httpx.AsyncClient() as http:
        openai = build_provider("frontdoor", config, http, KEY)
        completion = await openai.complete(request, "default", timeouts)
        items = [item async for item in openai.stream(request, "default", timeouts)]
        broken = request.model_copy(update={"model": "broken"})
        with pytest.raises(ProviderServerError) as info:
            await openai.complete(broken, "broken", timeouts)
    assert completion.content == "echo: sdk says hi" and not completion.usage_missing
    assert "".join(i.text for i in items if isinstance(i, Delta)) == "echo: sdk says hi"
    final = items[-1]
    assert isinstance(final, Completion) and final.content == "echo: sdk says hi" and not final.usage_missing
    assert info.value.status == 502


# -- a front door restart ---------------------------------------------------------


async def test_a_retry_after_a_front_door_restart_is_answered_under_the_same_id(door: FrontDoorProcess) -> None:
    headers = auth(**{"Idempotency-Key": f"restart-{os.getpid()}-{time.time_ns()}"})
    async with httpx.AsyncClient(base_url=door.url, timeout=30) as http:
        first = await http.post("/v1/chat/completions", json=chat("survive a restart"), headers=headers)
    door.kill(signal.SIGKILL)
    door.start()
    async with httpx.AsyncClient(base_url=door.url, timeout=30) as http:
        again = await http.post("/v1/chat/completions", json=chat("survive a restart"), headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.headers["x-request-id"] == again.headers["x-request-id"] == f"idem:acme:{headers['Idempotency-Key']}"
    assert again.json()["choices"][0]["message"]["content"] == "echo: survive a restart"


async def test_the_official_openai_sdk_works_unchanged(door: FrontDoorProcess) -> None:
    import openai

    client = openai.AsyncOpenAI(base_url=f"{door.url}/v1", api_key=KEY, max_retries=0, timeout=30)
    # a number of its own per run: other tests' answers must not come back from the cache
    tag = uuid.uuid4().int % 10**9
    try:
        completion = await client.chat.completions.create(
            model="default", messages=[{"role": "user", "content": f"sdk question {tag}"}], max_tokens=20
        )
        assert completion.choices[0].message.content == f"echo: sdk question {tag}"
        assert completion.usage is not None and completion.usage.prompt_tokens > 0

        stream = await client.chat.completions.create(
            model="default", messages=[{"role": "user", "content": f"sdk stream {tag}"}],
            stream=True, stream_options={"include_usage": True},
        )
        pieces = [chunk async for chunk in stream]
        text = "".join(c.choices[0].delta.content or "" for c in pieces if c.choices)
        assert text == f"echo: sdk stream {tag}"
        assert pieces[-1].usage is not None

        models = await client.models.list()
        assert "default" in {m.id for m in models.data}

        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(model="no-such-route", messages=[{"role": "user", "content": "x"}])
        with pytest.raises(openai.AuthenticationError):
            bad = openai.AsyncOpenAI(base_url=f"{door.url}/v1", api_key="sk-wrong", max_retries=0)
            await bad.chat.completions.create(model="default", messages=[{"role": "user", "content": "x"}])
    finally:
        await client.close()
