"""What the fake provider does for a model name, and the answers it makes up.

Pure: the server (``fake_server``) only parses a request, asks this module what to
do, and writes the wire format. Behaviour is chosen by model name, like tensorzero's
dummy provider; anything after ``@`` is a label, so ``echo@a`` and ``echo@b`` behave
the same but are counted apart.

    echo                 answer "echo: <last message>" at once, with plausible usage
    echo-cached          echo, reporting half the prompt as cached and 8 reasoning tokens
    no-usage             echo without any usage (JSON and stream)
    fail-<status>        that HTTP status with the vendor's error body
                         (429 adds Retry-After: 1; 529 is Anthropic's overloaded)
    slow-first-byte-<ms> wait <ms> before the response headers, then echo
    slow-body-<ms>       headers at once, then wait <ms> before the body
                         (streams: after the first event)
    cut-after-<n>        stream: <n> events, then a clean end without the terminal
                         event; JSON: half a body
    drop-after-<n>       stream: <n> events, then the connection is aborted
    error-after-<n>      stream: <n> events, then a mid-stream overloaded error event
    malformed            2xx whose body (or first stream event) is not JSON
    context-<n>          400 context-length error when the prompt has more than <n>
                         characters, echo otherwise
    remaining-<n>        echo, with rate-limit headers saying <n> of 100 requests are
                         left until a reset in 1 s (x-ratelimit-* on the OpenAI wire,
                         anthropic-ratelimit-* on Anthropic's)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal[
    "echo", "echo_cached", "no_usage", "fail", "slow_first_byte", "slow_body",
    "cut_after", "drop_after", "error_after", "malformed", "context", "remaining",
]

_PATTERNS: tuple[tuple[re.Pattern[str], Kind], ...] = (
    (re.compile(r"echo"), "echo"),
    (re.compile(r"echo-cached"), "echo_cached"),
    (re.compile(r"no-usage"), "no_usage"),
    (re.compile(r"malformed"), "malformed"),
    (re.compile(r"fail-(\d{3})"), "fail"),
    (re.compile(r"slow-first-byte-(\d+)"), "slow_first_byte"),
    (re.compile(r"slow-body-(\d+)"), "slow_body"),
    (re.compile(r"cut-after-(\d+)"), "cut_after"),
    (re.compile(r"drop-after-(\d+)"), "drop_after"),
    (re.compile(r"error-after-(\d+)"), "error_after"),
    (re.compile(r"context-(\d+)"), "context"),
    (re.compile(r"remaining-(\d+)"), "remaining"),
)


@dataclass(frozen=True)
class Behaviour:
    kind: Kind
    # The number in the name: HTTP status, milliseconds, event count or characters.
    arg: int = 0


def parse_behaviour(model: str) -> Behaviour | None:
    """The behaviour a model name asks for; None for a name the fake does not know."""
    name = model.split("@", 1)[0]
    for pattern, kind in _PATTERNS:
        if match := pattern.fullmatch(name):
            return Behaviour(kind, int(match.group(1)) if match.groups() else 0)
    return None


@dataclass(frozen=True)
class Answer:
    """A made-up completion; token counts follow OpenAI's accounting (totals)."""

    content: str
    finish_reason: Literal["stop", "length"]
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0


def tokens_of(text: str) -> int:
    """~4 characters a token, at least 1: what BPE tokenizers give on English."""
    return max(1, (len(text) + 3) // 4)


def echo_answer(texts: list[str], max_tokens: int | None, *, cached: bool = False) -> Answer:
    """Answer ``texts`` (the prompt's message texts, in order) deterministically."""
    content = f"echo: {texts[-1] if texts else ''}"
    finish: Literal["stop", "length"] = "stop"
    reasoning = 8 if cached else 0
    if max_tokens is not None and tokens_of(content) + reasoning > max_tokens:
        content = content[: max(0, max_tokens - reasoning) * 4]
        finish = "length"
    # Chat templates add a few tokens per message and to prime the answer.
    input_tokens = sum(tokens_of(t) + 4 for t in texts) + 3
    return Answer(
        content=content,
        finish_reason=finish,
        input_tokens=input_tokens,
        output_tokens=(tokens_of(content) if content else 0) + reasoning,
        cached_input_tokens=input_tokens // 2 if cached else 0,
        reasoning_tokens=reasoning,
    )


def split_for_stream(content: str) -> list[str]:
    """The pieces a streamed answer arrives in: one word (and its space) each."""
    return re.findall(r"\S+\s*|\s+", content)
