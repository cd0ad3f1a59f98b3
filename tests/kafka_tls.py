"""A TLS-only Kafka listener for tests, and the certificates it needs.

tansu 0.6.0 cannot serve TLS itself (its CLI rejects ``--cert`` together with
``--key`` and ignores ``--cert`` alone) and offers SASL only as SCRAM against users
stored in the broker, which memory storage cannot hold before the first login (see
docs/security.md). So the TLS listener here is a small terminator in front of a
plaintext tansu: tansu advertises the terminator's address, every client connection
(bootstrap, partition leaders, group coordinator) goes through it, and a client that
does not speak TLS with a trusted certificate gets nothing from the broker.

Certificates come from the ``openssl`` command line (the ``cryptography`` package
is not installed here).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tokenyard.streams.broker import broker_binary, free_port, wait_for_port


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # trusted by nobody here: a client that trusts only this must fail


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _ca(cwd: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
             cwd=cwd)


def _leaf(cwd: Path, name: str, extensions: str) -> None:
    (cwd / f"{name}.ext").write_text(extensions)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=cwd)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=cwd)


def make_pki(directory: Path) -> Pki:
    """A CA, a server certificate for 127.0.0.1 only, a client certificate, a stranger CA."""
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl command is needed to make test certificates")
    directory.mkdir(parents=True, exist_ok=True)
    _ca(directory, "ca")
    _ca(directory, "other-ca")
    _leaf(directory, "server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    _leaf(directory, "client", "extendedKeyUsage=clientAuth\n")
    d = directory
    return Pki(d / "ca.pem", d / "server.pem", d / "server.key", d / "client.pem", d / "client.key",
               d / "other-ca.pem")


def server_context(pki: Pki, *, require_client_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client_cert:
        context.load_verify_locations(pki.ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class TlsTerminator:
    """Accepts TLS on ``port`` and pipes the plaintext to ``upstream``, in a thread of its own."""

    def __init__(self, upstream_port: int, context: ssl.SSLContext, port: int) -> None:
        self.upstream_port = upstream_port
        self.context = context
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tls-terminator", daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> TlsTerminator:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self.context), self._loop
        ).result(timeout=10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _serve(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        broker_in, broker_out = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            await asyncio.gather(_pipe(client_in, broker_out), _pipe(broker_in, client_out))
        finally:
            for writer in (broker_out, client_out):
                writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    with contextlib.suppress(OSError, RuntimeError):
        sink.write_eof()


@contextlib.contextmanager
def tls_broker(pki: Pki, log: Path, *, require_client_cert: bool = False) -> Iterator[str]:
    """A tansu broker reachable only through TLS; yields the TLS bootstrap address."""
    tls_port, plain_port = free_port(), free_port()
    advertised = f"tcp://127.0.0.1:{tls_port}"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [broker_binary(), "broker", "--listener-url", f"tcp://127.0.0.1:{plain_port}",
             "--advertised-listener-url", advertised],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    terminator = None
    try:
        wait_for_port("127.0.0.1", plain_port, timeout=20)
        terminator = TlsTerminator(plain_port, server_context(pki, require_client_cert=require_client_cert),
                                   tls_port).start()
        yield f"127.0.0.1:{tls_port}"
    finally:
        if terminator is not None:
            terminator.stop()
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
