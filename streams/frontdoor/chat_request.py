"""An OpenAI chat-completions request body -> the fields of a tokenyard Request.

Pure: no I/O, no clock. Anything tokenyard cannot honour is refused with
:class:`~tokenyard.errors.InvalidRequest` naming the offending parameter
(``details["param"]``), as OpenAI does, rather than silently ignored: a caller that
sends ``tools`` or ``n=3`` must not get an answer that quietly lacks them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from tokenyard.errors import InvalidRequest, UnknownRoute
from tokenyard.schemas.records import Message, Params, Request

# Generation parameters with the same name and meaning in tokenyard's Params.
_PARAMS = ("temperature", "top_p", "max_tokens", "seed", "presence_penalty", "frequency_penalty")
# Accepted and ignored: they change nothing about the answer.
_IGNORED = frozenset({"store", "service_tier", "parallel_tool_calls"})
# Real OpenAI parameters the front door cannot honour (yet).
_UNSUPPORTED = frozenset({
    "tools", "tool_choice", "functions", "function_call", "audio", "modalities", "prediction",
    "logit_bias", "top_logprobs", "web_search_options", "reasoning_effort",
})
_KNOWN = frozenset({
    *_PARAMS, "model", "messages", "stream", "stream_options", "stop", "max_completion_tokens",
    "response_format", "n", "logprobs", "user", "metadata",
})
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}
_MESSAGE_KEYS = frozenset({"role", "content", "name", "tool_call_id", "refusal"})


@dataclass(frozen=True)
class ChatCall:
    """What one chat-completions call asks tokenyard for."""

    route: str
    messages: list[Message]
    params: Params
    stream: bool = False
    include_usage: bool = False
    metadata: dict[str, str] = field(default_factory=dict)


def _invalid(message: str, param: str | None) -> InvalidRequest:
    return InvalidRequest(message, param=param)


def parse_chat_call(body: Any, routes: Collection[str]) -> ChatCall:
    """Validate an already JSON-decoded body against the configured ``routes``.

    :class:`InvalidRequest` names what is wrong; :class:`UnknownRoute` when ``model``
    is no route (checked first, as OpenAI answers an unknown model before the rest).
    """
    if not isinstance(body, dict):
        raise _invalid("The request body must be a JSON object.", None)
    for name in body:
        if name in _UNSUPPORTED and body[name] not in (None, [], {}):
            raise _invalid(f"The tokenyard front door does not support '{name}'.", name)
        if name not in _KNOWN and name not in _IGNORED and name not in _UNSUPPORTED:
            raise _invalid(f"Unrecognized request argument supplied: {name}", name)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid("you must provide a model parameter", "model")
    if model not in routes:
        raise UnknownRoute(
            f"The model `{model}` does not exist or you do not have access to it.", param="model"
        )
    if body.get("n") not in (None, 1):
        raise _invalid("The tokenyard front door only supports n=1.", "n")
    if body.get("logprobs") not in (None, False):
        raise _invalid("The tokenyard front door does not support logprobs.", "logprobs")
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise _invalid(f"{stream!r} is not of type 'boolean' - 'stream'", "stream")
    include_usage = _include_usage(body.get("stream_options"), stream)
    messages = [_message(i, m) for i, m in enumerate(_list(body.get("messages"), "messages"))]
    params = _params(body)
    metadata = _metadata(body)
    checked = _check_with_the_wire_record(model, messages, params, metadata)
    return ChatCall(model, list(checked.messages), checked.params, stream, include_usage, dict(checked.metadata))


def _list(value: Any, param: str) -> list[Any]:
    if value is None:
        raise _invalid(f"Missing required parameter: '{param}'.", param)
    if not isinstance(value, list) or not value:
        raise _invalid(f"'{param}' must be a non-empty array.", param)
    return value


def _include_usage(options: Any, stream: bool) -> bool:
    if options is None:
        return False
    if not stream:
        raise _invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options")
    if not isinstance(options, dict) or set(options) - {"include_usage"}:
        raise _invalid("'stream_options' only takes 'include_usage'.", "stream_options")
    include = options.get("include_usage", False)
    if not isinstance(include, bool):
        raise _invalid("'stream_options.include_usage' must be a boolean.", "stream_options.include_usage")
    return include


def _message(index: int, raw: Any) -> dict[str, Any]:
    where = f"messages[{index}]"
    if not isinstance(raw, dict):
        raise _invalid(f"'{where}' must be an object.", where)
    if raw.get("tool_calls"):
        raise _invalid("The tokenyard front door does not support tool calls.", f"{where}.tool_calls")
    extra = set(raw) - _MESSAGE_KEYS - {"tool_calls"}
    if extra:
        raise _invalid(f"Unrecognized field in '{where}': {sorted(extra)[0]}", where)
    role = _ROLES.get(raw.get("role"))  # type: ignore[arg-type]
    if role is None:
        raise _invalid(
            f"Invalid value for '{where}.role': {raw.get('role')!r}; expected one of {sorted(_ROLES)}.",
            f"{where}.role",
        )
    message: dict[str, Any] = {"role": role, "content": _content(raw.get("content"), role, where)}
    for key in ("name", "tool_call_id"):
        if raw.get(key) is not None:
            message[key] = raw[key]
    return message


def _content(content: Any, role: str, where: str) -> Any:
    """Text, or a list of text parts (joined); images and audio are refused."""
    if content is None and role == "assistant":
        return ""
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise _invalid(
                    "The tokenyard front door only supports text content parts.", f"{where}.content[{j}]"
                )
            texts.append(part["text"])
        return "".join(texts)
    if not isinstance(content, str):
        raise _invalid(f"'{where}.content' must be a string or an array of text parts.", f"{where}.content")
    return content


def _params(body: dict[str, Any]) -> dict[str, Any]:
    params = {name: body[name] for name in _PARAMS if body.get(name) is not None}
    completion_max = body.get("max_completion_tokens")
    if completion_max is not None:
        if "max_tokens" in params and params["max_tokens"] != completion_max:
            raise _invalid("Give 'max_tokens' or 'max_completion_tokens', not both.", "max_completion_tokens")
        params["max_tokens"] = completion_max
    stop = body.get("stop")
    if stop is not None:
        params["stop"] = [stop] if isinstance(stop, str) else stop
    response_format = body.get("response_format")
    if response_format is not None:
        kind = response_format.get("type") if isinstance(response_format, dict) else None
        if kind not in ("text", "json_object"):
            raise _invalid(
                "The tokenyard front door supports response_format types 'text' and 'json_object'.",
                "response_format",
            )
        params["response_format"] = kind
    return params


def _metadata(body: dict[str, Any]) -> dict[str, str]:
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _invalid("'metadata' must be an object of string values.", "metadata")
    metadata = dict(metadata)
    user = body.get("user")
    if user is not None:
        if not isinstance(user, str):
            raise _invalid("'user' must be a string.", "user")
        metadata["user"] = user
    return metadata


def _check_with_the_wire_record(
    model: str, messages: list[dict[str, Any]], params: dict[str, Any], metadata: dict[str, str]
) -> Request:
    """Validate against the Request record now, so nothing is published that the gateway refuses."""
    try:
        return Request(
            request_id="frontdoor-check", tenant="frontdoor-check", model=model, messages=messages,
            params=params, metadata=metadata, reply_to="frontdoor-check",
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise _invalid(f"Invalid value for '{_param_name(first['loc'])}': {first['msg']}", _param_name(first["loc"])) from exc


def _param_name(loc: tuple[Any, ...]) -> str:
    """A pydantic error location in the OpenAI body's terms: ``messages[0].content``, ``temperature``."""
    if not loc:
        return "messages"
    if loc[0] == "params":
        return str(loc[1]) if len(loc) > 1 else "params"
    name = str(loc[0])
    for part in loc[1:]:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    return name
