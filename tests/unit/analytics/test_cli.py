from __future__ import annotations

import csv
import io
import subprocess
import sys

import orjson
import pytest
from click.testing import CliRunner

from tokenyard.analytics.client import DisabledClient, open_client
from tokenyard.analytics.migrate import load_migrations, migrate
from tokenyard.analytics.sink import UsageWriter
from tokenyard.errors import ConfigError, SinkUnavailable
from tokenyard.streams.cli.analytics import analytics
from tokenyard.streams.cli.report import report

WINDOW = ["--since", "2026-09-21", "--until", "2026-09-22"]


@pytest.fixture(scope="module")
def dsn(chdb_dir, make_events):
    """The session directory, with database t_cli loaded (read-only for the tests)."""
    client = open_client(f"chdb://{chdb_dir}", "t_cli")
    client.command("DROP DATABASE IF EXISTS t_cli SYNC")
    client.close()
    client = open_client(f"chdb://{chdb_dir}", "t_cli")
    migrate(client)
    UsageWriter(client).write(make_events(12))
    client.close()
    return f"chdb://{chdb_dir}"


def test_migrate_command_reports_progress_then_nothing_to_do(chdb_dir):
    runner = CliRunner()
    target = f"chdb://{chdb_dir}"
    admin = open_client(target, "t_cli_migrate")
    admin.command("DROP DATABASE IF EXISTS t_cli_migrate SYNC")
    admin.close()
    args = ["migrate", "--dsn", target, "--database", "t_cli_migrate"]
    first = runner.invoke(analytics, args)
    assert first.exit_code == 0, first.output
    total = len(load_migrations())
    assert f"[1/{total}] applying 001_usage_events" in first.output
    assert f"[{total}/{total}] applying" in first.output
    again = runner.invoke(analytics, args)
    assert again.exit_code == 0 and "schema is current" in again.output


def test_query_command_prints_json_rows(dsn):
    result = CliRunner().invoke(
        analytics,
        ["query", "spend_by_tenant", "--param", "since=2026-09-21", "--param", "until=2026-09-22",
         "--json", "--dsn", dsn, "--database", "t_cli"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {row["tenant"] for row in orjson.loads(result.output)} == {"t0", "t1", "t2"}


def test_query_command_lists_queries_and_rejects_unknown_ones(dsn):
    runner = CliRunner()
    listing = runner.invoke(analytics, ["query"])
    assert "spend_by_tenant:" in listing.output and "--param since=" in listing.output
    unknown = runner.invoke(analytics, ["query", "nope", "--dsn", dsn, "--database", "t_cli"])
    assert unknown.exit_code == 2 and "no analytics query named 'nope'" in unknown.output


@pytest.mark.parametrize("fmt", ["json", "csv", "html", "table"])
def test_report_command_writes_each_format(dsn, tmp_path, fmt):
    out = tmp_path / f"report.{fmt}"
    result = CliRunner().invoke(
        report,
        [*WINDOW, "--format", fmt, "--out", str(out), "--dsn", dsn, "--database", "t_cli"],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    if fmt == "json":
        assert orjson.loads(text)["sections"]["spend_by_tenant"]["rows"]
    elif fmt == "csv":
        assert next(csv.reader(io.StringIO(text)))[0] == "section"
    elif fmt == "html":
        assert text.count("<svg") == 5
    else:
        assert "Spend by tenant" in text


def test_report_command_fails_cleanly_when_the_sink_is_unreachable():
    result = CliRunner().invoke(report, [*WINDOW, "--via", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "sink_unavailable" in result.output


def test_open_client_refuses_bad_dsns_and_names():
    with pytest.raises(ConfigError, match="scheme"):
        open_client("mysql://x")
    with pytest.raises(ConfigError, match="identifier"):
        open_client("none://", "bad-name; drop")
    with pytest.raises(ConfigError, match="absolute"):
        open_client("chdb://memory")


def test_unreachable_server_is_sink_unavailable():
    with pytest.raises(SinkUnavailable, match="127.0.0.1:9"):
        open_client("http://127.0.0.1:9")


def test_disabled_twin_counts_rows_and_stores_nothing(make_events):
    client = open_client("none://")
    assert isinstance(client, DisabledClient)
    assert migrate(client) == []
    assert UsageWriter(client).write(make_events(4)) == len(make_events(4))
    assert client.rows_by_table == {"usage_events": len(make_events(4))}
    assert client.rows_written == len(make_events(4)) and client.inserts == 1
    assert client.query_rows("SELECT 1") == []


def test_chdb_hands_the_engine_between_directories_only_when_all_clients_closed(tmp_path):
    """A fact the test layout depends on, checked in a fresh process."""
    script = f"""
from tokenyard.analytics.client import open_client
from tokenyard.errors import SinkUnavailable
first = open_client("chdb://{tmp_path}/a")
try:
    open_client("chdb://{tmp_path}/b")
    print("second-open")
except SinkUnavailable as exc:
    print("refused" if "different path" in exc.message else exc.message)
first.close()
second = open_client("chdb://{tmp_path}/b")
print(second.query_rows("SELECT 1 AS one"))
second.close()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.split("\n")[:2] == ["refused", "[{'one': 1}]"], done.stderr
