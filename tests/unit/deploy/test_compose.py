"""docker-compose.yml and deploy/prometheus.yml, checked against the code without Docker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.deploy.deploy_checks import (
    REPO,
    command_problems,
    container_ports,
    dependency_problems,
    prometheus_targets,
    resolve_interpolation,
    setting_exists,
    tokenyard_services,
    unknown_setting_variables,
    volume_problems,
)
from tokenyard.streams.cli import _register, cli
from tokenyard.streams.observability import endpoint_settings
from tokenyard.streams.settings import Settings, load_settings

LONG_RUNNING = ("worker", "usage-sink", "frontdoor")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def prometheus() -> dict[str, Any]:
    return yaml.safe_load((REPO / "deploy" / "prometheus.yml").read_text())


@pytest.fixture(scope="module")
def tokenyard_cli() -> Any:
    _register()
    return cli


def service_env(service: dict[str, Any]) -> dict[str, str]:
    return {k: resolve_interpolation(str(v)) for k, v in service.get("environment", {}).items()}


def service_settings(service: dict[str, Any]) -> Settings:
    """The settings the container would load: the mounted config plus its environment."""
    env = service_env(service)
    source_of = {}  # container path -> repository file
    for volume in service.get("volumes", []):
        if volume.startswith("./"):
            source, target = volume.split(":")[:2]
            source_of[target] = REPO / source
    return load_settings(source_of[env["TOKENYARD_CONFIG"]], env)


def test_the_stack_has_every_part(compose: dict[str, Any]) -> None:
    assert {"kafka", "clickhouse", "migrate", "worker", "usage-sink", "frontdoor", "prometheus"} <= set(
        compose["services"]
    )
    assert set(tokenyard_services(compose)) == {"migrate", "worker", "usage-sink", "frontdoor"}


@pytest.mark.parametrize("service", ["migrate", "worker", "usage-sink", "frontdoor"])
def test_every_command_is_a_tokenyard_command(compose: dict[str, Any], tokenyard_cli: Any, service: str) -> None:
    assert command_problems(compose["services"][service]["command"], tokenyard_cli) == []


def test_a_wrong_command_or_option_is_caught(tokenyard_cli: Any) -> None:
    assert "not a tokenyard command" in command_problems(["workers"], tokenyard_cli)[0]
    assert "No such option" in command_problems(["serve", "--keyfile", "x"], tokenyard_cli)[0]
    assert "command group" in command_problems(["analytics"], tokenyard_cli)[0]


@pytest.mark.parametrize("service", ["migrate", "worker", "usage-sink", "frontdoor"])
def test_environment_loads_as_the_settings_of_the_mounted_config(compose: dict[str, Any], service: str) -> None:
    spec = compose["services"][service]
    env = service_env(spec)
    assert unknown_setting_variables(env, Settings) == []
    settings = service_settings(spec)  # raises ConfigError naming a bad key or a wrong type
    assert settings.kafka.bootstrap.partition(":")[0] in compose["services"]
    assert settings.clickhouse.dsn.split("@")[-1].split(":")[0] in compose["services"]


def test_metrics_overrides_name_real_settings(compose: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        assert unknown_setting_variables(service_env(compose["services"][name]), Settings) == []


def test_unknown_setting_variables_are_caught() -> None:
    env = {"TOKENYARD__KAFKA__BOOTSTRAP": "x", "TOKENYARD__KAFKA__BOOTSTRAPP": "x", "TOKENYARD__NOPE": "1",
           "TOKENYARD__PROVIDERS__ANY__KIND": "openai", "TOKENYARD__KAFKA__BOOTSTRAP__DEEPER": "x"}
    problems = unknown_setting_variables(env, Settings)
    assert [p.split()[0] for p in problems] == [
        "TOKENYARD__KAFKA__BOOTSTRAPP", "TOKENYARD__NOPE", "TOKENYARD__KAFKA__BOOTSTRAP__DEEPER",
    ]
    assert setting_exists(Settings, ["routes", "default", "targets"])


def test_provider_key_variables_reach_every_tokenyard_service(compose: dict[str, Any]) -> None:
    spec = compose["services"]["worker"]
    needed = {p.api_key_env for p in service_settings(spec).providers.values() if p.api_key_env}
    assert needed
    for name, service in tokenyard_services(compose).items():
        assert needed <= set(service["environment"]), name
    # Workers call providers: their keys must be required, never defaulted.
    for variable in needed:
        assert ":?" in str(spec["environment"][variable])


def test_volumes_exist_and_secrets_are_required(compose: dict[str, Any], tmp_path: Path) -> None:
    assert volume_problems(compose, REPO) == []
    broken = {"services": {"a": {"volumes": ["./deploy/nope.toml:/x", "${KEYS:-./k}:/k", "data:/d"]}}}
    assert len(volume_problems(broken, REPO)) == 3


def test_dependencies_name_services(compose: dict[str, Any]) -> None:
    assert dependency_problems(compose) == []
    assert dependency_problems({"services": {"a": {"depends_on": ["b"]}}}) == ["a: depends_on unknown service b"]


def test_ports_match_the_settings(compose: dict[str, Any]) -> None:
    services = compose["services"]
    frontdoor = service_settings(services["frontdoor"])
    assert frontdoor.frontdoor.port in container_ports(services["frontdoor"])
    sink = service_settings(services["usage-sink"])
    assert sink.sink.web_port in container_ports(services["usage-sink"])
    for name in ("worker", "usage-sink"):
        assert endpoint_settings(service_settings(services[name])).port in container_ports(services[name])
    listeners = services["kafka"]["environment"]["KAFKA_LISTENERS"]
    assert f":{frontdoor.kafka.bootstrap.rpartition(':')[2]}" in listeners


def test_prometheus_scrapes_every_process_where_it_listens(
    compose: dict[str, Any], prometheus: dict[str, Any]
) -> None:
    services = compose["services"]
    targets = {host: port for job in prometheus_targets(prometheus).values() for host, port in job}
    assert set(targets) == set(LONG_RUNNING)
    for host, port in targets.items():
        assert port in container_ports(services[host]), f"{host}:{port} is not a port {host} exposes"
    settings = {name: service_settings(services[name]) for name in LONG_RUNNING}
    assert targets["frontdoor"] == settings["frontdoor"].frontdoor.port
    assert targets["worker"] == endpoint_settings(settings["worker"]).port
    assert targets["usage-sink"] == endpoint_settings(settings["usage-sink"]).port
    mounted = [v for v in services["prometheus"]["volumes"] if v.startswith("./")]
    assert mounted == ["./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro"]
