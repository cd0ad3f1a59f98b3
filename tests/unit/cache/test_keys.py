from __future__ import annotations

import pytest

from tokenyard.cache.config import CacheConfig, RouteCacheConfig
from tokenyard.cache.keys import (
    SHARED_TENANT,
    CacheAction,
    cache_policy,
    fits_max_tokens,
    request_keys,
    temperature_bucket,
)
from tokenyard.errors import ConfigError
from tokenyard.schemas.records import CacheMode, Message, Params, Role

from .conftest import make_request

ROUTE = RouteCacheConfig()


def keys(text: str = "What is the capital of France?", **kw: object):
    return request_keys(make_request(text, **kw), ROUTE)


def test_whitespace_and_unicode_forms_share_the_exact_key():
    assert keys("What is  the capital\nof France?").exact_key == keys().exact_key
    assert keys("ｗhat is the capital of France?").exact_key == keys("what is the capital of France?").exact_key


def test_case_changes_the_exact_key_because_code_is_case_sensitive():
    assert keys("print(X)").exact_key != keys("print(x)").exact_key


@pytest.mark.parametrize(
    "other",
    [
        {"tenant": "globex"},
        {"route": "chat-large"},
        {"system": "Answer in French."},
        {"params": Params(temperature=0.9)},
        {"params": Params(seed=7)},
        {"params": Params(stop=["\n"])},
        {"params": Params(response_format="json_object")},
        {"params": Params(top_p=0.5)},
    ],
)
def test_answer_changing_fields_change_the_scope(other):
    assert keys(**other).scope_id != keys().scope_id
    assert keys(**other).exact_key != keys().exact_key


def test_max_tokens_and_request_id_do_not_change_keys():
    base = keys()
    assert keys(params=Params(max_tokens=50), request_id="other").exact_key == base.exact_key


def test_earlier_turns_are_part_of_the_scope():
    history = make_request("And Spain?")
    longer = history.model_copy(
        update={
            "messages": [
                Message(role=Role.user, content="Capital of France?"),
                Message(role=Role.assistant, content="Paris"),
                Message(role=Role.user, content="And Spain?"),
            ]
        }
    )
    assert request_keys(longer, ROUTE).scope_id != request_keys(history, ROUTE).scope_id
    assert request_keys(longer, ROUTE).prompt == "And Spain?"


def test_shared_scope_ignores_the_tenant():
    shared = RouteCacheConfig(shared_scope=True)
    a = request_keys(make_request("hi there", tenant="a"), shared)
    b = request_keys(make_request("hi there", tenant="b"), shared)
    assert a.scope_id == b.scope_id and a.scope_tenant == SHARED_TENANT and a.tenant == "a"


def test_temperature_buckets():
    assert [temperature_bucket(t) for t in (None, 0.0, 0.2, 0.5, 0.7, 1.0, 1.5)] == [
        "default", "greedy", "low", "low", "mid", "mid", "high"
    ]


@pytest.mark.parametrize(
    ("fields", "route", "action", "reason"),
    [
        ({}, ROUTE, CacheAction.LOOKUP, "default"),
        ({"cache": CacheMode.skip}, ROUTE, CacheAction.BYPASS, "skip"),
        ({"cache": CacheMode.refresh}, ROUTE, CacheAction.REFRESH, "refresh"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, ROUTE, CacheAction.BYPASS, "tools"),
        ({"cache": CacheMode.refresh, "tools": [{"type": "function"}]}, ROUTE, CacheAction.BYPASS, "tools"),
        ({"params": Params(temperature=1.2)}, ROUTE, CacheAction.BYPASS, "temperature"),
        ({"params": Params(temperature=1.0)}, ROUTE, CacheAction.LOOKUP, "default"),
        ({"params": Params(temperature=0.5)}, RouteCacheConfig(max_temperature=0.3), CacheAction.BYPASS, "temperature"),
        ({}, RouteCacheConfig(enabled=False), CacheAction.BYPASS, "disabled"),
    ],
)
def test_cache_policy(fields, route, action, reason):
    policy = cache_policy(make_request("hello", **fields), route)
    assert (policy.action, policy.reason) == (action, reason)
    assert policy.may_lookup == (action is CacheAction.LOOKUP)
    assert policy.may_store == (action is not CacheAction.BYPASS)


def test_disabled_cache_bypasses_everything():
    assert cache_policy(make_request("hello"), ROUTE, cache_enabled=False).action is CacheAction.BYPASS


@pytest.mark.parametrize(
    ("requested", "stored", "output", "finish", "ok"),
    [
        (None, None, 500, "stop", True),
        (600, None, 500, "stop", True),
        (100, None, 500, "stop", False),
        (100, 100, 100, "length", True),
        (200, 100, 100, "length", False),
        (None, 100, 100, "length", False),
    ],
)
def test_fits_max_tokens(requested, stored, output, finish, ok):
    assert fits_max_tokens(requested, stored, output, finish) is ok


def test_bad_config_key_names_it():
    with pytest.raises(ConfigError, match="default_route.ttl"):
        CacheConfig.from_mapping({"default_route": {"ttl": 5}})
    with pytest.raises(ConfigError, match="similarity_threshold"):
        CacheConfig.from_mapping({"routes": {"chat": {"similarity_threshold": 3}}})
    assert CacheConfig.from_mapping({"routes": {"chat": {"ttl_s": 5}}}).for_route("chat").ttl_s == 5
