"""The whole pipeline over a TLS-only broker listener: the worker's and the sink's Faust
apps, their state stores and the client all take TLS from the [kafka] settings.

TLS comes from the environment (TOKENYARD__KAFKA__*), as an operator would set it in
a container, so the child processes read it the same way the test does.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tests.conftest import dump_logs
from tests.e2e.pipeline import Pipeline, wait_until_serving, write_config
from tests.kafka_tls import make_pki, tls_broker
from tokenyard.streams.settings import load_settings
from tokenyard.streams.stack import LocalStack

pytestmark = pytest.mark.broker


async def test_a_request_is_answered_and_billed_through_a_tls_only_broker(tmp_path: Path, fake_provider) -> None:
    pki = make_pki(tmp_path / "pki")
    env = {"TOKENYARD__KAFKA__SECURITY_PROTOCOL": "SSL", "TOKENYARD__KAFKA__SSL_CAFILE": str(pki.ca)}
    with tls_broker(pki, tmp_path / "broker.log") as bootstrap:
        prefix = f"t{uuid.uuid4().hex[:8]}"
        config = write_config(tmp_path / "tokenyard.toml", bootstrap=bootstrap, fake_url=fake_provider.base_url,
                              prefix=prefix, data_dir=tmp_path / "data")
        settings = load_settings(config, env)
        assert settings.kafka.security.uses_tls
        stack = LocalStack(settings=settings, config_path=config, log_dir=tmp_path / "logs", workers=1,
                           with_model=False, with_broker=False, env_overrides=env)
        stack.start(progress=lambda msg: None)
        pipeline = Pipeline(settings, config, stack, fake_provider)
        try:
            await wait_until_serving(pipeline, timeout=60)
            async with pipeline.client() as client:
                reply = await client.complete([{"role": "user", "content": "over tls"}], tenant="tls", timeout=30)
            assert reply.status == "ok" and "over tls" in (reply.content or "")
            rows: list[dict] = []
            for _ in range(100):  # the sink's Faust app read the usage topic over TLS too
                rows = await pipeline.query("request_usage", request_id=reply.request_id)
                if len(rows) >= 2:
                    break
                await asyncio.sleep(0.2)
            assert sorted(r["kind"] for r in rows) == ["attempt", "request"], rows
        except BaseException:
            print(dump_logs(tmp_path / "logs"))
            raise
        finally:
            stack.stop()
