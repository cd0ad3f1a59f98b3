"""The wire records: what travels on tokenyard's topics.

These models are the single source of the wire contract. The JSON Schema files
beside this module are generated from them (``python -m tokenyard.schemas.export``)
and a test fails when the two drift; golden examples in ``examples/`` are checked
against both. Every event carries ``schema_version``.

Field names follow the OpenAI chat format where one exists, so a request reads
like the chat-completions body a service already knows.
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

SCHEMA_VERSION = 1

Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@/-]+$")
]
TopicName = Annotated[
    str, StringConstraints(min_length=1, max_length=249, pattern=r"^[A-Za-z0-9._-]+$")
]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class _Inbound(_Record):
    """What callers send. Decoded from JSON strictly (no ``"12"`` for 12, no ``"yes"``
    for true; see ``codec.decode``); built from Python values as usual."""

    wire_strict: ClassVar[bool] = True


class Role(str, Enum):
    system = "system"
    user = "user"
    assistant = "assistant"
    tool = "tool"


class Priority(str, Enum):
    high = "high"
    normal = "normal"
    low = "low"


class CacheMode(str, Enum):
    default = "default"
    skip = "skip"
    refresh = "refresh"


class Message(_Inbound):
    role: Role
    content: str = Field(max_length=1_000_000)
    name: str | None = Field(default=None, max_length=64)
    tool_call_id: str | None = Field(default=None, max_length=128)


class Params(_Inbound):
    """Generation parameters; ranges are the widest any supported provider takes."""

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    stop: list[Annotated[str, StringConstraints(max_length=256)]] | None = Field(
        default=None, max_length=4
    )
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    response_format: Literal["text", "json_object"] | None = None


class Auth(_Inbound):
    """Tenant signature (HMAC over the canonical request; see issue 8)."""

    key_id: Identifier
    timestamp_ms: int = Field(ge=0)
    signature: str = Field(min_length=1, max_length=256)


class Request(_Inbound):
    schema_version: Literal[1] = SCHEMA_VERSION
    request_id: Identifier
    tenant: Identifier
    model: Identifier = Field(description="A route name from the gateway's config.")
    messages: list[Message] = Field(min_length=1, max_length=2048)
    params: Params = Params()
    stream: bool = False
    reply_to: TopicName
    deadline_ms: int | None = Field(
        default=None, ge=0, description="Absolute deadline, Unix epoch milliseconds."
    )
    created_ms: int | None = Field(default=None, ge=0)
    priority: Priority | None = Field(
        default=None,
        description="Who waits first when capacity is short; unset: the tenant's configured priority (normal if none).",
    )
    cache: CacheMode = CacheMode.default
    tools: list[dict[str, Any]] | None = Field(default=None, max_length=128)
    metadata: dict[
        Annotated[str, StringConstraints(max_length=64)],
        Annotated[str, StringConstraints(max_length=1024)],
    ] = Field(default_factory=dict, max_length=32)
    auth: Auth | None = None

    @field_validator("messages")
    @classmethod
    def _has_a_question(cls, messages: list[Message]) -> list[Message]:
        if all(m.role is Role.system for m in messages):
            raise ValueError("messages need at least one non-system message")
        return messages

    @field_validator("tools")
    @classmethod
    def _tools_not_too_deep(cls, tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if tools is not None and _depth(tools) > MAX_TOOL_DEPTH:
            raise ValueError(f"tools are nested deeper than {MAX_TOOL_DEPTH} levels")
        return tools

    def prompt_chars(self) -> int:
        return sum(len(m.content) for m in self.messages)


MAX_TOOL_DEPTH = 32  # JSON-schema tool definitions in the wild stay under ~10


def _depth(value: Any) -> int:
    """Nesting depth of lists and objects, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_TOOL_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


class Usage(_Record):
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cached_input_tokens: int = Field(default=0, ge=0)
    reasoning_tokens: int = Field(default=0, ge=0)


class ErrorInfo(_Record):
    code: str
    message: str
    retriable: bool = False
    retry_after_s: float | None = None
    details: dict[str, Any] | None = None


class Reply(_Record):
    """The final answer to one request, on the request's ``reply_to`` topic."""

    schema_version: Literal[1] = SCHEMA_VERSION
    type: Literal["reply"] = "reply"
    request_id: str
    tenant: str | None = None
    status: Literal["ok", "error"]
    model: str | None = Field(default=None, description="The route the request named.")
    provider: str | None = None
    provider_model: str | None = None
    content: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    cost_usd: Decimal | None = None
    cost_unknown: bool = False
    cached: bool = False
    similarity: float | None = None
    cache_entry_id: str | None = None
    attempts: int = 0
    latency_ms: float | None = None
    created_ms: int
    warnings: list[str] = Field(default_factory=list)
    error: ErrorInfo | None = None


class Chunk(_Record):
    """One piece of a streamed answer; ``restart`` voids every chunk before it."""

    schema_version: Literal[1] = SCHEMA_VERSION
    type: Literal["chunk"] = "chunk"
    request_id: str
    seq: int = Field(ge=0)
    delta: str = ""
    restart: bool = False


class UsageEvent(_Record):
    """One row of the usage fact table: a provider attempt or a request outcome."""

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: str = Field(description="Deterministic: redelivery yields the same id.")
    kind: Literal["attempt", "request"]
    ts_ms: int = Field(ge=0)
    request_id: str
    attempt: int = Field(default=0, ge=0)
    tenant: str
    route: str
    provider: str = ""
    model: str = ""
    status: str
    error_code: str = ""
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cached_input_tokens: int = Field(default=0, ge=0)
    reasoning_tokens: int = Field(default=0, ge=0)
    cost_usd: Decimal = Decimal(0)
    cost_unknown: bool = False
    cost_saved_usd: Decimal = Decimal(0)
    cached: bool = False
    similarity: float | None = None
    latency_ms: float = Field(default=0.0, ge=0)
    ttft_ms: float | None = None
    fallback_depth: int = Field(default=0, ge=0)
    priority: str = Priority.normal.value
    tags: dict[str, str] = Field(default_factory=dict)


class DeadLetter(_Record):
    """An event no stage could process, with the original bytes and the reason."""

    schema_version: Literal[1] = SCHEMA_VERSION
    ts_ms: int
    source_topic: str
    partition: int | None = None
    offset: int | None = None
    key_b64: str | None = None
    value_b64: str = Field(description="The original event bytes, base64 (the head only if truncated).")
    value_size: int | None = Field(default=None, ge=0, description="Bytes of the original event.")
    value_sha256: str | None = Field(default=None, description="Hex SHA-256 of the original event.")
    value_truncated: bool = Field(
        default=False, description="True when the event was too large to carry whole."
    )
    request_id: str | None = None
    tenant: str | None = None
    reply_to: str | None = None
    error: ErrorInfo
