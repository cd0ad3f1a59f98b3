from __future__ import annotations

from pathlib import Path

import pytest

from tokenyard.errors import ConfigError
from tokenyard.streams.settings import load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tokenyard.toml"
    path.write_text(text)
    return path


def test_embedded_defaults_load_and_route_to_the_local_model() -> None:
    settings = load_settings()
    assert settings.routes["default"].targets == ["local:smollm2"]
    assert settings.kafka.fetch_max_wait_ms == 10


def test_env_overrides_nested_keys_with_json_values() -> None:
    settings = load_settings(environ={
        "TOKENYARD__KAFKA__BOOTSTRAP": "10.0.0.5:9092",
        "TOKENYARD__WORKER__CONCURRENCY": "8",
        "TOKENYARD__WORKER__REPLY_TOPICS": '["a.replies"]',
        "UNRELATED": "x",
    })
    assert settings.kafka.bootstrap == "10.0.0.5:9092"
    assert settings.worker.concurrency == 8
    assert settings.worker.reply_topics == ("a.replies",)


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, '[kafka]\nbootstrap = "k:1"\n')
    assert load_settings(environ={"TOKENYARD_CONFIG": str(path)}).kafka.bootstrap == "k:1"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[kafka]\nbootstrapp = 'x'\n", "kafka.bootstrapp"),
        ("[kafka]\nrequest_partitions = 'many'\n", "kafka.request_partitions"),
        ("[worker]\nconcurrency = 0\n", "worker.concurrency"),
        ("[worker]\nhttp_transport = 'curl'\n", "worker.http_transport"),
        ("[sink]\nfetch_max_wait_ms = 0\n", "sink.fetch_max_wait_ms"),
        ("[cache]\nembed_max_per_s = 0\n", "cache.embed_max_per_s"),
        ("[nonsense]\na = 1\n", "nonsense"),
        ("[providers.p]\nkind = 'openai_compatible'\n[providers.p.models.m]\ncontext_window = 10\n", "providers.p.base_url"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert key.split(".")[0] in info.value.message
    assert key.rsplit(".", 1)[-1] in info.value.message or key in info.value.message


def test_routes_must_name_declared_providers_and_models(tmp_path: Path) -> None:
    base = (
        "[providers.p]\nkind = 'openai_compatible'\nbase_url = 'http://h/v1'\n"
        "[providers.p.models.m]\ncontext_window = 100\n"
    )
    with pytest.raises(ConfigError, match="unknown provider 'q'"):
        load_settings(write(tmp_path, base + "[routes.r]\ntargets = ['q:m']\n"))
    with pytest.raises(ConfigError, match="model 'x'"):
        load_settings(write(tmp_path, base + "[routes.r]\ntargets = ['p:x']\n"))


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[kafka\n"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_env_override_of_a_scalar_as_section_is_refused() -> None:
    with pytest.raises(ConfigError, match="TOKENYARD__KAFKA__BOOTSTRAP__X"):
        load_settings(environ={"TOKENYARD__KAFKA__BOOTSTRAP": "a", "TOKENYARD__KAFKA__BOOTSTRAP__X": "b"})
