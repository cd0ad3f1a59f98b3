"""One real model behind the pipeline: SmolLM2-135M served by llama.cpp's server.

Slow by nature (CPU decoding); kept to a handful of short requests."""

from __future__ import annotations

import asyncio
import sys

import pytest

from tests.conftest import dump_logs
from tests.e2e.pipeline import Pipeline, write_config
from tokenyard.streams.broker import free_port
from tokenyard.streams.settings import load_settings
from tokenyard.streams.stack import LocalStack

pytestmark = [pytest.mark.broker, pytest.mark.slow]


def local_model_config(port: int) -> str:
    return f"""
[providers.local]
kind = "openai_compatible"
base_url = "http://127.0.0.1:{port}/v1"
timeouts = {{ connect = 2.0, first_byte = 120.0, total = 240.0 }}

[providers.local.models.smollm2]
context_window = 2048
max_output_tokens = 256

[prices."local/smollm2"]
input = "0"
output = "0"
source = "self-hosted"
as_of = 2026-11-26

[routes.smol]
targets = ["local:smollm2"]
"""


async def test_real_smollm2_answers_through_the_pipeline(broker, fake_provider, tmp_path) -> None:
    port = free_port()
    config = write_config(
        tmp_path / "tokenyard.toml", bootstrap=broker.bootstrap, fake_url=fake_provider.base_url,
        prefix="smol", data_dir=tmp_path / "data", extra=local_model_config(port),
    )
    text = config.read_text().replace("[local_model]\nenabled = false", f"[local_model]\nenabled = true\nport = {port}")
    config.write_text(text)
    settings = load_settings(config)
    stack = LocalStack(settings=settings, config_path=config, log_dir=tmp_path / "logs",
                       with_broker=False, with_sink=False)
    try:
        stack.start(progress=lambda msg: print(msg, file=sys.stderr))
        pipeline = Pipeline(settings, config, stack, fake_provider)
        async with pipeline.client() as client:
            replies = await asyncio.gather(*(
                client.complete([{"role": "user", "content": q}], model="smol", tenant="acme",
                                params={"max_tokens": 12, "temperature": 0}, timeout=240)
                for q in ("What is the capital of France?", "Say hello.")
            ))
    except BaseException:
        print(dump_logs(tmp_path / "logs"))
        raise
    finally:
        stack.stop()
    for reply in replies:
        assert reply.status == "ok"
        assert reply.provider == "local" and reply.provider_model == "smollm2"
        assert reply.content and reply.content.strip()
        # real tokenizer counts from llama.cpp, priced at zero, not unknown
        assert reply.usage.input_tokens > 5 and 0 < reply.usage.output_tokens <= 12
        assert reply.cost_usd == 0 and not reply.cost_unknown
