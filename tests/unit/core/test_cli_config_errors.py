"""Broken configuration stops a process at start, with exit code 2 and the key named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(tmp_path: Path, config: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    path = tmp_path / "bad.toml"
    path.write_text(config)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TOKENYARD")}
    return subprocess.run(
        [sys.executable, "-m", "tokenyard.streams.cli", "--config", str(path), *args],
        capture_output=True, text=True, timeout=60, env={**clean, **(env or {})},
    )


PROVIDER_WITHOUT_KEY = """
[providers.openai]
kind = "openai"
api_key_env = "TOKENYARD_TEST_MISSING_KEY"
[providers.openai.models."gpt-4o-mini"]
context_window = 128000
[routes.default]
targets = ["openai:gpt-4o-mini"]
"""


def test_worker_refuses_to_start_without_the_api_key_variable(tmp_path: Path) -> None:
    done = run_cli(tmp_path, PROVIDER_WITHOUT_KEY, "worker")
    assert done.returncode == 2
    assert "providers.openai.api_key_env" in done.stderr and "TOKENYARD_TEST_MISSING_KEY" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ("[kafka\n", "not valid TOML"),
        ("[kafka]\nbootstrapp = 'x'\n", "kafka.bootstrapp"),
        ("[worker]\nconcurrency = -1\n", "worker.concurrency"),
        ("[admission.tenants.acme]\nrpn = 5\n", "admission.tenants.acme.rpn"),
        ("[cache]\nenabeld = true\n", "cache.enabeld"),
    ],
)
def test_bad_config_exits_2_naming_the_key(tmp_path: Path, config: str, named: str) -> None:
    done = run_cli(tmp_path, config, "send", "hello")
    assert done.returncode == 2, done.stderr
    assert named in done.stderr
    assert "Traceback" not in done.stderr


def test_a_secret_never_reaches_the_error_message(tmp_path: Path) -> None:
    config = PROVIDER_WITHOUT_KEY.replace("TOKENYARD_TEST_MISSING_KEY", "TY_SECRET")
    done = run_cli(tmp_path, config + "\n[kafka]\nbootstrapp = 1\n", "worker", env={"TY_SECRET": "sk-very-secret"})
    assert done.returncode == 2
    assert "sk-very-secret" not in done.stderr + done.stdout
