"""LiteLLM's proxy as the peer: installed from PyPI into a venv of its own (never
into tokenyard's), started on loopback in front of the same fake provider.

LiteLLM fetches its model price map from the internet at start-up; there is none
here, so it runs with its bundled copy (``LITELLM_LOCAL_MODEL_COST_MAP=True``).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tokenyard.errors import ConfigError
from tokenyard.streams.bench.cpu import descendants
from tokenyard.streams.bench.rig import spawn
from tokenyard.streams.broker import free_port
from tokenyard.streams.stack import Child

PACKAGE = "litellm[proxy]"
READY_MARKER = ".tokenyard-ready"


def ensure_venv(venv: Path, say: Callable[[str], None]) -> Path:
    """The ``litellm`` executable in ``venv``, installing it there the first time
    (a few minutes; the venv is kept for later runs)."""
    executable = venv / "bin" / "litellm"
    if (venv / READY_MARKER).exists() and executable.exists():
        return executable
    say(f"installing {PACKAGE} into {venv} (once; takes a few minutes)")
    pip = venv / "bin" / "pip"
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(pip), "install", "-q", "--upgrade", "pip"],
        [str(pip), "install", "-q", PACKAGE],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            raise ConfigError(f"installing LiteLLM failed at `{' '.join(step)}`: {done.stderr[-800:]}")
    (venv / READY_MARKER).touch()
    return executable


def proxy_config(fake_openai_base_url: str, model: str) -> str:
    """LiteLLM's YAML: one model, the fake's ``model`` via the OpenAI-compatible path."""
    return (
        "model_list:\n"
        f"  - model_name: {model}\n"
        "    litellm_params:\n"
        f"      model: openai/{model}\n"
        f"      api_base: {fake_openai_base_url}\n"
        "      api_key: bench\n"
        "litellm_settings:\n"
        "  drop_params: true\n"
        "  telemetry: false\n"
    )


@dataclass
class LiteLLMProxy:
    child: Child
    base_url: str  # OpenAI-compatible: {base_url}/chat/completions
    api_key: str  # the master key; LiteLLM refuses to start without one

    def pids(self) -> dict[str, int]:
        """The proxy and any worker processes it forked, named ``litellm`` and ``litellm-<n>``."""
        found = {"litellm": self.child.proc.pid}
        for n, pid in enumerate(descendants(self.child.proc.pid)):
            found[f"litellm-{n}"] = pid
        return found

    def stop(self) -> None:
        self.child.stop()


def start_proxy(executable: Path, work_dir: Path, fake_openai_base_url: str, model: str, *,
                workers: int = 1, timeout_s: float = 180.0) -> LiteLLMProxy:
    config = work_dir / "litellm.yaml"
    config.write_text(proxy_config(fake_openai_base_url, model))
    port = free_port()
    master_key = f"sk-{secrets.token_hex(24)}"
    env = {
        "LITELLM_MASTER_KEY": master_key,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "DISABLE_SCHEMA_UPDATE": "True",
    }
    cmd = [str(executable), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
           "--num_workers", str(workers)]
    child = spawn("litellm", cmd, work_dir / "logs", env)
    proxy = LiteLLMProxy(child, f"http://127.0.0.1:{port}/v1", master_key)
    try:
        _wait_healthy(child, f"http://127.0.0.1:{port}/health/liveliness", timeout_s)
    except (TimeoutError, ConfigError) as exc:
        proxy.stop()
        raise ConfigError(f"the LiteLLM proxy did not start; see {child.log_path}") from exc
    return proxy


def _wait_healthy(child: Child, url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not child.alive():
            raise ConfigError(f"the LiteLLM proxy exited with code {child.proc.returncode}")
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet: keep polling until the deadline
        time.sleep(0.2)
    raise ConfigError(f"{url} never answered 200")
