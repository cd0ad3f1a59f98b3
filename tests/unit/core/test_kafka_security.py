"""[kafka] TLS/SASL settings: validated at load, turned into exactly what aiokafka and Faust take."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from tests.kafka_tls import Pki, make_pki
from tests.unit.core.test_cli_config_errors import run_cli
from tokenyard.errors import ConfigError
from tokenyard.streams.app import create_app
from tokenyard.streams.kafka_security import PLAINTEXT
from tokenyard.streams.settings import Settings, load_settings

SECRET = "s3cr3t-kafka-pw"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def load(tmp_path: Path, kafka: str, environ: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "t.toml"
    path.write_text("[kafka]\n" + kafka)
    return load_settings(path, environ or {})


SCRAM = 'sasl_mechanism = "SCRAM-SHA-512"\nsasl_username = "worker"\nsasl_password_env = "KAFKA_PW"\n'


def test_plaintext_is_the_default_and_adds_nothing() -> None:
    settings = load_settings()
    assert settings.kafka.security == PLAINTEXT
    assert settings.kafka.security.client_kwargs() == {"security_protocol": "PLAINTEXT"}
    assert settings.kafka.security.faust_credentials() is None


def test_sasl_ssl_scram_gives_aiokafka_every_setting(tmp_path: Path, pki: Pki) -> None:
    settings = load(tmp_path, f'security_protocol = "SASL_SSL"\nssl_cafile = "{pki.ca}"\n' + SCRAM,
                    {"KAFKA_PW": SECRET})
    kwargs = settings.kafka.security.client_kwargs()
    context = kwargs.pop("ssl_context")
    assert kwargs == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "worker",
        "sasl_plain_password": SECRET,
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "ca"),),)]
    # one context per process, shared by every client
    assert settings.kafka.security.client_kwargs()["ssl_context"] is context


def test_faust_gets_the_same_connection_settings_as_the_aiokafka_clients(tmp_path: Path, pki: Pki) -> None:
    settings = load(tmp_path, f'security_protocol = "SASL_SSL"\nssl_cafile = "{pki.ca}"\n' + SCRAM,
                    {"KAFKA_PW": SECRET})
    app = create_app(settings, app_id="t-sec", data_dir=str(tmp_path / "faust"))
    credentials = app.conf.broker_credentials
    assert isinstance(credentials, faust.SASLCredentials)
    # what Faust's own driver hands its producer, consumers and topic creator
    assert dict(credentials_to_aiokafka_auth(credentials)) == settings.kafka.security.client_kwargs()


def test_sasl_plaintext_has_no_tls(tmp_path: Path) -> None:
    settings = load(tmp_path, 'security_protocol = "SASL_PLAINTEXT"\n' + SCRAM.replace("512", "256"),
                    {"KAFKA_PW": SECRET})
    assert settings.kafka.security.client_kwargs() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "worker",
        "sasl_plain_password": SECRET,
    }
    credentials = settings.kafka.security.faust_credentials()
    assert dict(credentials_to_aiokafka_auth(credentials)) == {
        **settings.kafka.security.client_kwargs(), "ssl_context": None,
    }


def test_ssl_with_client_certificate_and_no_hostname_check(tmp_path: Path, pki: Pki) -> None:
    settings = load(tmp_path, f'security_protocol = "SSL"\nssl_cafile = "{pki.ca}"\n'
                    f'ssl_certfile = "{pki.client_cert}"\nssl_keyfile = "{pki.client_key}"\n'
                    "ssl_check_hostname = false\n")
    kwargs = settings.kafka.security.client_kwargs()
    assert set(kwargs) == {"security_protocol", "ssl_context"} and kwargs["security_protocol"] == "SSL"
    assert kwargs["ssl_context"].check_hostname is False
    assert kwargs["ssl_context"].verify_mode == ssl.CERT_REQUIRED  # the certificate is still checked
    credentials = settings.kafka.security.faust_credentials()
    assert isinstance(credentials, faust.SSLCredentials)
    assert dict(credentials_to_aiokafka_auth(credentials)) == kwargs


def test_settings_come_from_the_environment_too(pki: Pki) -> None:
    settings = load_settings(None, {
        "TOKENYARD__KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
        "TOKENYARD__KAFKA__SASL_MECHANISM": "PLAIN",
        "TOKENYARD__KAFKA__SASL_USERNAME": "sink",
        "TOKENYARD__KAFKA__SASL_PASSWORD_ENV": "KAFKA_PW",
        "TOKENYARD__KAFKA__SSL_CAFILE": str(pki.ca),
        "KAFKA_PW": SECRET,
    })
    assert settings.kafka.security.client_kwargs()["sasl_plain_username"] == "sink"


@pytest.mark.parametrize(
    ("kafka", "named"),
    [
        ('security_protocol = "SASL_SSL"\n', "kafka.sasl_mechanism, kafka.sasl_username, kafka.sasl_password_env are required"),
        ('security_protocol = "SASL_PLAINTEXT"\n' + SCRAM.replace('sasl_username = "worker"\n', ""),
         "kafka.sasl_username is required when kafka.security_protocol is SASL_PLAINTEXT"),
        ('security_protocol = "SASL_PLAINTEXT"\n' + SCRAM.replace("KAFKA_PW", "NOT_SET_PW"),
         "kafka.sasl_password_env names environment variable 'NOT_SET_PW', which is not set or empty"),
        ('security_protocol = "SASL_PLAINTEXT"\nsasl_mechanism = "GSSAPI"\n', "kafka.sasl_mechanism"),
        ('security_protocol = "SSL"\n' + SCRAM, "uses no SASL"),
        ('security_protocol = "PLAINTEXT"\nssl_cafile = "{ca}"\n', "kafka.ssl_cafile is set, but kafka.security_protocol PLAINTEXT uses no TLS"),
        ('security_protocol = "SSL"\nssl_cafile = "/no/such/ca.pem"\n', "kafka.ssl_cafile: Value error, file '/no/such/ca.pem' does not exist"),
        ('security_protocol = "SSL"\nssl_keyfile = "{ca}"\n', "kafka.ssl_keyfile needs kafka.ssl_certfile"),
        ('security_protocol = "TLS"\n', "kafka.security_protocol"),
        ('sasl_password = "hunter2"\n', "kafka.sasl_password"),  # the secret itself is refused
    ],
)
def test_bad_combinations_are_config_errors_naming_the_key(tmp_path: Path, pki: Pki, kafka: str, named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, kafka.replace("{ca}", str(pki.ca)), {"KAFKA_PW": SECRET})
    assert named in info.value.message
    assert SECRET not in info.value.message and "hunter2" not in info.value.message


def test_the_password_never_reaches_a_repr_or_a_dump(tmp_path: Path) -> None:
    settings = load(tmp_path, 'security_protocol = "SASL_PLAINTEXT"\n' + SCRAM, {"KAFKA_PW": SECRET})
    shown = [repr(settings), repr(settings.kafka.security), str(settings.model_dump()),
             repr(settings.kafka.security.faust_credentials())]
    assert not [s for s in shown if SECRET in s]


def test_a_certificate_file_that_is_not_pem_is_a_config_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    settings = load(tmp_path, f'security_protocol = "SSL"\nssl_cafile = "{junk}"\n')
    with pytest.raises(ConfigError, match="kafka.ssl_cafile"):
        settings.kafka.security.client_kwargs()


def test_the_worker_exits_2_naming_the_key_without_the_password(tmp_path: Path) -> None:
    config = '[kafka]\nsecurity_protocol = "SASL_SSL"\nsasl_mechanism = "PLAIN"\nsasl_password_env = "KAFKA_PW"\n'
    done = run_cli(tmp_path, config, "worker", env={"KAFKA_PW": SECRET})
    assert done.returncode == 2, done.stderr
    assert "kafka.sasl_username is required" in done.stderr
    assert SECRET not in done.stderr + done.stdout and "Traceback" not in done.stderr
