from __future__ import annotations

import pytest

from tokenyard.analytics.client import open_client
from tokenyard.analytics.migrate import migrate
from tokenyard.analytics.sink import UsageWriter
from tokenyard.analytics.queries import load_query, parse_query, query_names, run_query
from tokenyard.errors import ConfigError, InvalidRequest

WINDOW = {"since": "2026-09-21", "until": "2026-09-22"}


@pytest.fixture(scope="module")
def loaded_client(chdb_dir, make_events):
    """One migrated, loaded database shared by the read-only tests of this module."""
    client = open_client(f"chdb://{chdb_dir}", "t_queries_module")
    client.command("DROP DATABASE IF EXISTS t_queries_module SYNC")
    client.command("CREATE DATABASE t_queries_module")
    migrate(client)
    UsageWriter(client).write(make_events(12))
    yield client
    client.close()


@pytest.mark.parametrize("name", query_names())
def test_every_query_documents_itself_and_runs_on_chdb(loaded_client, name):
    client = loaded_client
    query = load_query(name)
    assert query.answers and all(param.doc for param in query.params)
    params = {"request_id": "r1"} if "request_id" in query.param_names else dict(WINDOW)
    assert run_query(client, name, params), f"{name} returned nothing for the workload"


def test_unknown_query_and_parameters_are_named(loaded_client):
    client = loaded_client
    with pytest.raises(InvalidRequest, match="no analytics query named 'nope'"):
        run_query(client, "nope")
    with pytest.raises(InvalidRequest, match="needs parameter 'until'"):
        run_query(client, "spend_by_tenant", {"since": "2026-01-01"})
    with pytest.raises(InvalidRequest, match="no parameter bogus"):
        run_query(client, "spend_by_tenant", {**WINDOW, "bogus": 1})
    with pytest.raises(InvalidRequest, match="since"):
        run_query(client, "spend_by_tenant", {**WINDOW, "since": "last tuesday"})
    with pytest.raises(InvalidRequest, match="limit"):
        run_query(client, "top_requests", {**WINDOW, "limit": "-3"})


def test_a_header_that_disagrees_with_the_body_is_refused():
    text = "-- answers: x\n-- param a String: a\nSELECT {b:String}"
    with pytest.raises(ConfigError, match="header declares"):
        parse_query("broken", text)


def test_defaults_and_utc_conversion_when_binding():
    query = load_query("top_requests")
    bound = query.bind({"since": "2026-09-21T02:00:00+02:00", "until": "2026-09-22"})
    assert bound == {"since": "2026-09-21 00:00:00.000", "until": "2026-09-22 00:00:00.000",
                     "tenant": "", "limit": 20}  # fmt: skip
