"""Typed settings, loaded once from one TOML file plus environment overrides.

``load_settings(path, environ)`` is the only place that reads configuration; the
result is frozen and passed down. Environment overrides use double underscores
for nesting: ``TOKENYARD__KAFKA__BOOTSTRAP=broker:9092`` sets ``kafka.bootstrap``.
Unknown keys, wrong types and missing API-key variables fail at start with a
:class:`~tokenyard.errors.ConfigError` that names the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, model_validator

from tokenyard.errors import ConfigError
from tokenyard.admission.config import AdmissionConfig
from tokenyard.cache.config import CacheConfig
from tokenyard.pricing.table import Price
from tokenyard.security.config import AuthConfig
from tokenyard.streams.kafka_security import KafkaSecurity, PemFile, SaslMechanism, SecurityProtocol, resolve_security
from tokenyard.streams.observability import MetricsEndpointSettings
from tokenyard.streams.tracing import TracingSettings
from tokenyard.providers.config import HttpTransport, ProviderConfig
from tokenyard.streams.frontdoor.settings import FrontDoorSettings
from tokenyard.providers.routing_config import BreakerConfig, RetryConfig, RouteConfig, split_target

ENV_PREFIX = "TOKENYARD__"
DEFAULT_CONFIG_ENV = "TOKENYARD_CONFIG"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KafkaSettings(_Section):
    bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = Field(default="tokenyard", pattern=r"^[A-Za-z0-9._-]+$")
    request_partitions: int = Field(default=4, ge=1, le=1024)
    reply_partitions: int = Field(default=4, ge=1, le=1024)
    usage_partitions: int = Field(default=2, ge=1, le=1024)
    # tansu never cuts a fetch long-poll short when data arrives, so this bounds
    # every hop's latency; Faust hard-codes 1,500 ms (see streams/transport.py).
    fetch_max_wait_ms: int = Field(default=10, ge=1, le=10_000)
    # tansu completes group joins only after session_timeout / 2.
    session_timeout_s: float = Field(default=10.0, ge=1.0, le=300.0)
    heartbeat_interval_s: float = Field(default=1.0, gt=0.0, le=60.0)
    # Every reply waits this long before it is sent. aiokafka keeps one produce
    # request in flight per broker and batches whatever arrives meanwhile, so under
    # load records batch anyway; at 50 req/s 1 ms took ~8 ms off the p50 against 5 ms.
    producer_linger_ms: int = Field(default=1, ge=0, le=1000)
    # TLS and SASL for every Kafka client (streams/kafka_security.py, docs/security.md).
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    # The name of the environment variable holding the SASL password, never the password.
    sasl_password_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    ssl_cafile: PemFile | None = None
    ssl_certfile: PemFile | None = None
    ssl_keyfile: PemFile | None = None
    ssl_check_hostname: bool = True
    _security: KafkaSecurity = PrivateAttr(default_factory=KafkaSecurity)

    @model_validator(mode="after")
    def _resolve_security(self, info: ValidationInfo) -> KafkaSettings:
        # The password is read once, from the environment snapshot load_settings passes.
        self._security = resolve_security(self, (info.context or {}).get("environ", {}))
        return self

    @property
    def security(self) -> KafkaSecurity:
        """What every aiokafka client and the Faust app are given to reach the broker."""
        return self._security


class WorkerSettings(_Section):
    group_id: str = "tokenyard-worker"
    # In-flight requests per worker: provider calls are slow, so one partition's
    # events are processed concurrently and committed in offset order. A worker
    # serves at most concurrency / provider latency requests a second (256 slots at
    # 2 s per answer: 128 req/s); with 64, exact cache hits were capped by slots.
    concurrency: int = Field(default=256, ge=1, le=4096)
    max_prompt_chars: int = Field(default=200_000, ge=1)
    default_deadline_s: float = Field(default=120.0, gt=0)
    # Glob patterns a request's reply_to must match; everything else is rejected
    # so a request cannot make the gateway write into arbitrary topics.
    reply_topics: tuple[str, ...] = ("tokenyard.replies", "tokenyard.replies.*", "*.replies")
    data_dir: str = ".tokenyard"
    # A request admission defers for longer than this goes to the deferred topic
    # instead of waiting in one of the main agent's slots.
    inline_defer_s: float = Field(default=1.0, ge=0.0, le=60.0)
    # What moves provider calls' bytes under httpx: aiohttp (half the CPU per call)
    # or httpx's own httpcore; see providers/http_client.py.
    http_transport: HttpTransport = "aiohttp"


class ClickHouseSettings(_Section):
    dsn: str = "chdb://.tokenyard/chdb"
    database: str = "tokenyard"


class SinkSettings(_Section):
    group_id: str = "tokenyard-usage-sink"
    # Each chDB insert has a large fixed cost (a part in the fact table and every
    # rollup): 10k-row batches ingest ~4x faster than 1k (benchmarks/analytics).
    batch_size: int = Field(default=10_000, ge=1, le=1_000_000)
    flush_interval_s: float = Field(default=1.0, gt=0, le=3600)
    retry_backoff_max_s: float = Field(default=30.0, gt=0)
    # Usage rows wait for a batch anyway (flush_interval_s): a long fetch poll costs
    # them nothing and spares the broker 100 empty polls a second (kafka.fetch_max_wait_ms).
    fetch_max_wait_ms: int = Field(default=250, ge=1, le=10_000)
    # The sink owns the chDB directory; `tokenyard report` reads through this port.
    web_port: int = Field(default=6067, ge=1, le=65535)
    # Loopback by default: the query port has no authentication. In a container
    # set 0.0.0.0 so `report`/`status` can reach it over the private network.
    web_host: str = "127.0.0.1"


class LocalModelSettings(_Section):
    """The llama.cpp server the local stack starts for the default route."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=1, le=65535)
    model_alias: str = "smollm2"
    threads: int = Field(default=2, ge=1, le=256)
    context_window: int = Field(default=2048, ge=256)


class Settings(_Section):
    kafka: KafkaSettings = KafkaSettings()
    worker: WorkerSettings = WorkerSettings()
    clickhouse: ClickHouseSettings = ClickHouseSettings()
    sink: SinkSettings = SinkSettings()
    local_model: LocalModelSettings = LocalModelSettings()
    frontdoor: FrontDoorSettings = FrontDoorSettings()
    cache: CacheConfig = CacheConfig()
    admission: AdmissionConfig = AdmissionConfig()
    auth: AuthConfig = AuthConfig()
    metrics: MetricsEndpointSettings = MetricsEndpointSettings()
    tracing: TracingSettings = TracingSettings()
    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    routes: dict[str, RouteConfig] = Field(default_factory=dict)
    retry: RetryConfig = RetryConfig()
    breaker: BreakerConfig = BreakerConfig()
    # Price overrides, keyed like the shipped table: "<provider>/<model>" or a model name.
    prices: dict[str, Price] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _routes_name_known_targets(self) -> Settings:
        for route_name, route in self.routes.items():
            for target in [*route.targets, *(route.low_priority_targets or [])]:
                provider, model = split_target(target)
                where = f"routes.{route_name}"
                if provider not in self.providers:
                    raise ValueError(f"{where}: target {target!r} names unknown provider {provider!r}")
                if model not in self.providers[provider].models:
                    raise ValueError(
                        f"{where}: target {target!r} names model {model!r} that "
                        f"providers.{provider}.models does not declare"
                    )
        return self


def defaults_path() -> Path:
    return Path(__file__).with_name("defaults.toml")


def load_settings(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (or ``$TOKENYARD_CONFIG``, or the embedded defaults) plus env overrides."""
    environ = {} if environ is None else environ
    path = path or environ.get(DEFAULT_CONFIG_ENV) or defaults_path()
    data = _read_toml(Path(path))
    _apply_env_overrides(data, environ)
    try:
        return Settings.model_validate(data, context={"environ": environ})
    except ValidationError as exc:
        raise ConfigError.from_validation(exc) from exc


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def _apply_env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if not path:
            raise ConfigError(f"environment variable {name} names no setting")
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment variable {name}: {part} is not a section")
            node = child
        node[path[-1]] = _parse_env_value(raw)


def _parse_env_value(raw: str) -> Any:
    """JSON where it parses (numbers, booleans, lists), the plain string otherwise."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
