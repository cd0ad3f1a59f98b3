"""Tenant authentication on the request topic, on a real pipeline."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.e2e.pipeline import Pipeline, serving_pipeline
from tokenyard.errors import RemoteError
from tokenyard.schemas.codec import dumps
from tokenyard.security.signing import Signer
from tokenyard.streams.client import TokenyardClient

pytestmark = pytest.mark.broker

SECRETS = {"TY_ACME_KEY_OLD": "acme-old-secret-0123456789", "TY_ACME_KEY_NEW": "acme-new-secret-9876543210",
           "TY_GLOBEX_KEY": "globex-secret-abcdefghijkl"}
AUTH = """
[auth]
required = true
tenants.acme = [{ key_id = "acme-2025", secret_env = "TY_ACME_KEY_OLD" }, { key_id = "acme-2026", secret_env = "TY_ACME_KEY_NEW" }]
tenants.globex = [{ key_id = "globex-1", secret_env = "TY_GLOBEX_KEY" }]
"""


@pytest.fixture(scope="module")
def signed_pipeline(broker, fake_provider, tmp_path_factory):
    os.environ.update(SECRETS)  # the worker processes inherit them
    with serving_pipeline(
        tmp_path_factory.mktemp("auth"), broker.bootstrap, fake_provider, extra=AUTH,
        ready_client=lambda p: client_for(p, Signer("acme-2026", SECRETS["TY_ACME_KEY_NEW"])), probe_tenant="acme",
    ) as running:
        yield running


def client_for(pipeline: Pipeline, signer: Signer | None) -> TokenyardClient:
    return TokenyardClient.from_settings(pipeline.settings, signer=signer)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def test_both_keys_of_a_rotation_are_accepted(signed_pipeline: Pipeline) -> None:
    for key_id, env in (("acme-2025", "TY_ACME_KEY_OLD"), ("acme-2026", "TY_ACME_KEY_NEW")):
        async with client_for(signed_pipeline, Signer(key_id, SECRETS[env])) as client:
            reply = await client.complete(user(f"signed with {key_id}"), tenant="acme", timeout=30)
        assert reply.status == "ok" and reply.tenant == "acme"


@pytest.mark.parametrize(
    ("signer", "tenant", "reason"),
    [
        (None, "acme", "unsigned"),
        (Signer("acme-2026", "not-the-secret-at-all-000"), "acme", "bad_signature"),
        (Signer("globex-1", SECRETS["TY_GLOBEX_KEY"]), "acme", "wrong_tenant"),
        (Signer("nobody-1", "whatever-secret-0000000"), "acme", "unknown_key"),
    ],
)
async def test_unsigned_or_forged_requests_are_refused_before_any_cost(
    signed_pipeline: Pipeline, signer: Signer | None, tenant: str, reason: str
) -> None:
    before = signed_pipeline.fake.calls("echo")
    async with client_for(signed_pipeline, signer) as client:
        with pytest.raises(RemoteError) as info:
            await client.complete(user("let me in"), tenant=tenant, timeout=30)
    assert info.value.code == "unauthenticated"
    assert signed_pipeline.fake.calls("echo") == before


async def test_a_replayed_signed_request_is_refused(signed_pipeline: Pipeline) -> None:
    signer = Signer("acme-2026", SECRETS["TY_ACME_KEY_NEW"])
    async with client_for(signed_pipeline, None) as client:
        request = signer.sign(client.build_request(user("once only"), tenant="acme", timeout=30))
        first = await client.send(request, timeout=30)
        # an attacker who captured the event publishes the same bytes again
        waiter = asyncio.get_running_loop().create_future()
        client._waiting[request.request_id] = waiter
        await signed_pipeline.produce_raw([dumps(request)], key=b"acme")
        again = await asyncio.wait_for(waiter, 30)
    assert first.status == "ok"
    assert again.status == "error" and again.error.code == "unauthenticated"
    assert again.error.details["reason"] == "replayed"
