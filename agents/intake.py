"""The first step of every request: decode and check it before it can cost anything.

Pure: takes bytes and the limits, returns a :class:`Request` or raises a
:class:`~tokenyard.errors.RequestError` (or ``DeadlineExceeded``) saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from tokenyard.errors import DeadlineExceeded, PromptTooLarge, UnknownReplyTopic, UnknownRoute
from tokenyard.schemas.codec import decode_request
from tokenyard.schemas.records import Request


@dataclass(frozen=True)
class IntakeRules:
    max_prompt_chars: int
    reply_topic_patterns: tuple[str, ...]
    internal_topics: frozenset[str]
    has_route: Callable[[str], bool]

    def reply_topic_allowed(self, topic: str) -> bool:
        if topic in self.internal_topics:
            return False
        return any(fnmatchcase(topic, pattern) for pattern in self.reply_topic_patterns)


def accept(raw: bytes, rules: IntakeRules) -> Request:
    """Decode ``raw`` and check routing and size; raise on the first problem."""
    request = decode_request(raw)
    if not rules.reply_topic_allowed(request.reply_to):
        raise UnknownReplyTopic(
            f"reply_to {request.reply_to!r} is not a reply topic this gateway publishes to "
            f"(allowed: {', '.join(rules.reply_topic_patterns)})"
        )
    if not rules.has_route(request.model):
        raise UnknownRoute(f"model {request.model!r} is not a configured route", model=request.model)
    chars = request.prompt_chars()
    if chars > rules.max_prompt_chars:
        raise PromptTooLarge(
            f"prompt has {chars} characters, over the limit of {rules.max_prompt_chars}",
            prompt_chars=chars,
            limit=rules.max_prompt_chars,
        )
    return request


def expired(request: Request, now_ms: int) -> DeadlineExceeded | None:
    """The error for a request read after its deadline, else ``None``."""
    if request.deadline_ms is None or request.deadline_ms > now_ms:
        return None
    return DeadlineExceeded(
        f"deadline passed {now_ms - request.deadline_ms} ms before the request could be served"
    )
