"""The cost report as one self-contained HTML page: inline SVG charts and tables."""

from __future__ import annotations

from html import escape
from typing import Any

from tokenyard.analytics.charts import bar_chart, grouped_bar_chart, line_chart
from tokenyard.analytics.report import Report, Section

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
svg { display: block; margin: .5rem 0; font-size: 12px; }
"""


def render_html(report: Report) -> str:
    scope = f"tenant {report.tenant}" if report.tenant else "all tenants"
    window = f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC, {scope}"
    body = [f"<h1>tokenyard cost report</h1><p>{escape(window)}</p>", *_charts(report)]
    for section in report.sections:
        body.append(f"<h2>{escape(section.title)}</h2>{_table(section)}")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>tokenyard cost report</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _charts(report: Report) -> list[str]:
    over_time = report.section("cost_over_time")
    tenants = report.section("spend_by_tenant")
    models = report.section("spend_by_model")
    cache = report.section("cache_by_route")
    latency = report.section("latency_by_model")
    return [
        line_chart(
            "Cost over time (USD)",
            [(str(row["bucket"])[:16], _float(row["cost_usd"])) for row in over_time.rows],
            unit="$",
        ),
        bar_chart(
            "Spend by tenant (USD)",
            [(row["tenant"], _float(row["cost_usd"])) for row in tenants.rows[:20]],
            unit="$",
        ),
        bar_chart(
            "Spend by provider:model (USD)",
            [(f"{row['provider']}:{row['model']}", _float(row["cost_usd"])) for row in models.rows[:20]],
            unit="$",
        ),
        bar_chart(
            "Cache savings by route (USD)",
            [(row["route"], _float(row["cost_saved_usd"])) for row in cache.rows[:20]],
            unit="$",
        ),
        grouped_bar_chart(
            "Latency by provider:model",
            ("p50", "p95", "p99"),
            [
                (
                    f"{row['provider']}:{row['model']}",
                    [_float(row[f"latency_{q}_ms"]) for q in ("p50", "p95", "p99")],
                )
                for row in latency.rows[:12]
            ],
            unit=" ms",
        ),
    ]


def _table(section: Section) -> str:
    if not section.rows:
        return "<p>No rows in this window.</p>"
    columns = list(section.rows[0])
    head = "".join(f"<th>{escape(column)}</th>" for column in columns)
    lines = []
    for row in section.rows:
        cells = "".join(
            f'<td class="n">{escape(str(row[c]))}</td>'
            if isinstance(row[c], (int, float)) or _is_number_text(row[c])
            else f"<td>{escape('' if row[c] is None else str(row[c]))}</td>"
            for c in columns
        )
        lines.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _is_number_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True


def _float(value: Any) -> float:
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0
