"""Kafka transport security: from the ``[kafka]`` settings to what aiokafka and Faust take.

Every Kafka client tokenyard builds (the Faust app of workers and sink, and each
aiokafka producer, consumer and admin client of the state stores, the quota ledger,
the CLI and the Python client) gets TLS and SASL here and nowhere else, so a broker
that requires them is reached the same way by every process.

The SASL password is never part of the config: ``kafka.sasl_password_env`` names the
environment variable that holds it. The settings loader reads it once from the
environment snapshot it is given (:func:`resolve_security`), and it stays out of every
``repr``, log line and error message.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator

from tokenyard.errors import ConfigError

if TYPE_CHECKING:
    from tokenyard.streams.settings import KafkaSettings

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
# The mechanisms Apache Kafka offers for passwords; PLAIN sends the password itself,
# so it belongs on SASL_SSL only (the docs say so; it is not refused).
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

_TLS = ("SSL", "SASL_SSL")
_SASL = ("SASL_PLAINTEXT", "SASL_SSL")


def _existing_file(path: str) -> str:
    if not Path(path).is_file():
        raise ValueError(f"file {path!r} does not exist (relative paths start at the working directory)")
    return path


PemFile = Annotated[str, AfterValidator(_existing_file)]
"""A PEM file that must exist when the settings load."""


@dataclass(frozen=True)
class KafkaSecurity:
    """How every Kafka client of this process authenticates and encrypts."""

    protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True

    @property
    def uses_tls(self) -> bool:
        return self.protocol in _TLS

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in _SASL

    @cached_property
    def ssl_context(self) -> ssl.SSLContext | None:
        """One context per process, shared by its clients; ``None`` without TLS."""
        if not self.uses_tls:
            return None
        from aiokafka.helpers import create_ssl_context

        try:
            # No cafile: the system's trusted CAs (a broker with a public certificate).
            context = create_ssl_context(
                cafile=self.ssl_cafile, certfile=self.ssl_certfile, keyfile=self.ssl_keyfile
            )
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"kafka.ssl_cafile / ssl_certfile / ssl_keyfile cannot be loaded: {exc}",
                key="kafka.ssl_certfile" if self.ssl_certfile else "kafka.ssl_cafile",
            ) from exc
        # The certificate is still verified against the CAs; only the name check is off
        # (a broker reached by an address its certificate does not list).
        context.check_hostname = self.ssl_check_hostname
        return context

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaProducer``, ``AIOKafkaConsumer``, ``AIOKafkaAdminClient``."""
        kwargs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_tls:
            kwargs["ssl_context"] = self.ssl_context
        if self.uses_sasl:
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password
        return kwargs

    def faust_credentials(self) -> Any:
        """Faust's ``broker_credentials``: ``None`` for PLAINTEXT, else SASL or SSL credentials."""
        import faust

        if self.uses_sasl:
            # Faust picks SASL_SSL over SASL_PLAINTEXT by whether a context is given.
            return faust.SASLCredentials(
                username=self.sasl_username,
                password=self.sasl_password,
                mechanism=self.sasl_mechanism,
                ssl_context=self.ssl_context,
            )
        if self.uses_tls:
            return faust.SSLCredentials(self.ssl_context)
        return None


PLAINTEXT = KafkaSecurity()


def resolve_security(kafka: KafkaSettings, environ: Mapping[str, str]) -> KafkaSecurity:
    """Check that the ``[kafka]`` security keys fit together and read the SASL password.

    Raises ``ValueError`` naming every problem by its key (the settings validator turns
    it into a :class:`~tokenyard.errors.ConfigError`); never includes the password.
    """
    protocol = kafka.security_protocol
    problems: list[str] = []
    sasl_keys = {
        "sasl_mechanism": kafka.sasl_mechanism,
        "sasl_username": kafka.sasl_username,
        "sasl_password_env": kafka.sasl_password_env,
    }
    ssl_keys = {"ssl_cafile": kafka.ssl_cafile, "ssl_certfile": kafka.ssl_certfile, "ssl_keyfile": kafka.ssl_keyfile}
    password = None
    if protocol in _SASL:
        missing = [f"kafka.{key}" for key, value in sasl_keys.items() if not value]
        if missing:
            problems.append(f"{_listed(missing, 'required')} when kafka.security_protocol is {protocol}")
        if kafka.sasl_password_env:
            password = environ.get(kafka.sasl_password_env, "")
            if not password:
                problems.append(
                    f"kafka.sasl_password_env names environment variable "
                    f"{kafka.sasl_password_env!r}, which is not set or empty"
                )
    else:
        stray = [f"kafka.{key}" for key, value in sasl_keys.items() if value]
        if stray:
            problems.append(f"{_listed(stray, 'set')}, but kafka.security_protocol {protocol} uses no SASL")
    if protocol not in _TLS:
        stray = [f"kafka.{key}" for key, value in ssl_keys.items() if value]
        if stray:
            problems.append(f"{_listed(stray, 'set')}, but kafka.security_protocol {protocol} uses no TLS")
    if kafka.ssl_keyfile and not kafka.ssl_certfile:
        problems.append("kafka.ssl_keyfile needs kafka.ssl_certfile (the client certificate)")
    if problems:
        raise ValueError("; ".join(problems))
    return KafkaSecurity(
        protocol=protocol,
        sasl_mechanism=kafka.sasl_mechanism,
        sasl_username=kafka.sasl_username,
        sasl_password=password,
        ssl_cafile=kafka.ssl_cafile,
        ssl_certfile=kafka.ssl_certfile,
        ssl_keyfile=kafka.ssl_keyfile,
        ssl_check_hostname=kafka.ssl_check_hostname,
    )


def _listed(keys: list[str], state: str) -> str:
    return f"{', '.join(keys)} {'is' if len(keys) == 1 else 'are'} {state}"
