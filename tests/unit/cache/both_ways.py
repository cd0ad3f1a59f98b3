"""Verifier assertions made from both sides: a verdict must not depend on which
prompt was stored and which was asked."""

from __future__ import annotations

from tokenyard.cache.verify import verify


def fails_both_ways(a: str, b: str, reason: str) -> None:
    for query, candidate in ((a, b), (b, a)):
        verdict = verify(query, candidate)
        assert not verdict.ok, f"{query!r} passed against {candidate!r}"
        assert verdict.reason == reason, verdict


def passes_both_ways(a: str, b: str) -> None:
    for query, candidate in ((a, b), (b, a)):
        verdict = verify(query, candidate)
        assert verdict.ok, f"{query!r} failed against {candidate!r}: {verdict}"


def never_for_reason(a: str, b: str, reason: str) -> None:
    for query, candidate in ((a, b), (b, a)):
        assert verify(query, candidate).reason != reason, (query, candidate)
