"""`tokenyard send`: publish one request and print its reply."""

from __future__ import annotations

import asyncio
import sys

import click
import orjson

from tokenyard.errors import TokenyardError
from tokenyard.schemas.records import Reply
from tokenyard.streams.client import TokenyardClient


@click.command()
@click.argument("prompt")
@click.option("--model", "-m", default="default", show_default=True, help="Route name.")
@click.option("--tenant", "-t", default="default", show_default=True)
@click.option("--system", "system_prompt", default=None, help="System prompt.")
@click.option("--max-tokens", type=int, default=None)
@click.option("--temperature", type=float, default=None)
@click.option("--stream", "stream_", is_flag=True, help="Print chunks as they arrive.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait.")
@click.option("--json", "as_json", is_flag=True, help="Print the reply event as JSON.")
@click.pass_obj
def send(ctx: object, prompt: str, model: str, tenant: str, system_prompt: str | None,
         max_tokens: int | None, temperature: float | None, stream_: bool, timeout: float,
         as_json: bool) -> None:
    """Publish PROMPT as one request, wait for its reply and print it.

    Exit code 0 for an answer, 1 for an error reply or a timeout.
    """
    messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
        {"role": "user", "content": prompt}
    ]
    params = {k: v for k, v in {"max_tokens": max_tokens, "temperature": temperature}.items() if v is not None}
    try:
        reply = asyncio.run(_send(ctx.settings, messages, model, tenant, params, stream_, timeout, as_json))  # type: ignore[attr-defined]
    except TokenyardError as exc:
        _fail(exc.code, exc.message, as_json)
        return
    if as_json:
        click.echo(orjson.dumps(reply.model_dump(mode="json", exclude_none=True)).decode())
    elif reply.status == "ok":
        if not stream_:
            click.echo(reply.content)
        cost = "unknown" if reply.cost_unknown else f"${reply.cost_usd}"
        usage = reply.usage
        tokens = f"{usage.input_tokens} in / {usage.output_tokens} out" if usage else "no usage"
        source = "cache" if reply.cached else f"{reply.provider}:{reply.provider_model}"
        click.echo(f"-- {source}, {tokens}, cost {cost}, {reply.latency_ms:.0f} ms", err=True)
    if reply.status != "ok":
        assert reply.error is not None
        if not as_json:
            click.echo(f"error {reply.error.code}: {reply.error.message}", err=True)
        sys.exit(1)


async def _send(settings, messages, model, tenant, params, stream_, timeout, as_json) -> Reply:  # type: ignore[no-untyped-def]
    async with TokenyardClient.from_settings(settings) as client:
        if not stream_:
            return await client.complete(
                messages, model=model, tenant=tenant, params=params, timeout=timeout, raise_on_error=False
            )
        async for item in client.stream(messages, model=model, tenant=tenant, params=params, timeout=timeout):
            if isinstance(item, Reply):
                if not as_json:
                    click.echo()
                return item
            if item.restart and not as_json:
                click.echo("\n[provider switched; restarting]", err=True)
            elif not as_json:
                click.echo(item.delta, nl=False)
    raise AssertionError("stream ended without a reply")  # pragma: no cover


def _fail(code: str, message: str, as_json: bool) -> None:
    if as_json:
        click.echo(orjson.dumps({"status": "error", "error": {"code": code, "message": message}}).decode())
    else:
        click.echo(f"error {code}: {message}", err=True)
    sys.exit(1)
