"""Small inline SVG charts for the HTML report (no JavaScript, no network)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH = 720
PALETTE = ("#3b6ea8", "#e08a2c", "#5b9e4d", "#b8474f", "#7a5ea8")


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.4g}"


def empty_chart(title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="60" role="img">'
        f'<title>{escape(title)}</title>'
        f'<text x="10" y="35" fill="#777">{escape(title)}: no data in this window</text></svg>'
    )


def bar_chart(title: str, items: Sequence[tuple[str, float]], unit: str = "") -> str:
    """Horizontal bars, one per (label, value), largest first as given."""
    if not items:
        return empty_chart(title)
    bar_h, gap, label_w, top = 22, 6, 220, 30
    height = top + len(items) * (bar_h + gap) + 10
    peak = max((value for _, value in items), default=0) or 1
    span = WIDTH - label_w - 110
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img">',
        f'<title>{escape(title)}</title>',
        f'<text x="0" y="18" font-weight="bold">{escape(title)}</text>',
    ]
    for index, (label, value) in enumerate(items):
        y = top + index * (bar_h + gap)
        length = max(1.0, span * max(value, 0) / peak)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(label[:32])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_h}" '
            f'fill="{PALETTE[0]}"/>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + 16}">{unit}{_number(value)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, points: Sequence[tuple[str, float]], unit: str = "") -> str:
    """A line over time-ordered (label, value) points, with the first and last labels."""
    if not points:
        return empty_chart(title)
    height, left, right, top, bottom = 260, 70, 20, 30, 40
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    peak = max(value for _, value in points) or 1
    step = plot_w / max(1, len(points) - 1)
    coords = [
        (left + index * step, top + plot_h * (1 - max(value, 0) / peak))
        for index, (_, value) in enumerate(points)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{PALETTE[0]}"/>' for x, y in coords)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img">'
        f'<title>{escape(title)}</title>'
        f'<text x="0" y="18" font-weight="bold">{escape(title)}</text>'
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#999"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>'
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end">{unit}{_number(peak)}</text>'
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>'
        f'<polyline points="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>{dots}'
        f'<text x="{left}" y="{height - 12}">{escape(points[0][0])}</text>'
        f'<text x="{left + plot_w}" y="{height - 12}" text-anchor="end">{escape(points[-1][0])}</text>'
        "</svg>"
    )


def grouped_bar_chart(
    title: str, series: Sequence[str], groups: Sequence[tuple[str, Sequence[float]]], unit: str = ""
) -> str:
    """Vertical bars per group (e.g. provider:model), one bar per series (p50/p95/p99)."""
    if not groups:
        return empty_chart(title)
    height, left, top, bottom = 280, 60, 40, 60
    plot_h = height - top - bottom
    group_w = (WIDTH - left - 10) / len(groups)
    bar_w = max(4.0, group_w * 0.8 / len(series))
    peak = max((value for _, values in groups for value in values), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img">',
        f'<title>{escape(title)}</title>',
        f'<text x="0" y="18" font-weight="bold">{escape(title)}</text>',
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end">{_number(peak)}{unit}</text>',
    ]
    for index, name in enumerate(series):
        parts.append(
            f'<rect x="{WIDTH - 90}" y="{8 + index * 14}" width="10" height="10" '
            f'fill="{PALETTE[index % len(PALETTE)]}"/>'
            f'<text x="{WIDTH - 75}" y="{17 + index * 14}" font-size="11">{escape(name)}</text>'
        )
    for g, (label, values) in enumerate(groups):
        x0 = left + g * group_w + group_w * 0.1
        for index, value in enumerate(values):
            bar = plot_h * max(value, 0) / peak
            parts.append(
                f'<rect x="{x0 + index * bar_w:.1f}" y="{top + plot_h - bar:.1f}" '
                f'width="{bar_w - 1:.1f}" height="{bar:.1f}" fill="{PALETTE[index % len(PALETTE)]}">'
                f"<title>{escape(label)} {escape(series[index])}: {_number(value)}{unit}</title></rect>"
            )
        parts.append(
            f'<text x="{x0:.1f}" y="{top + plot_h + 16}" font-size="11">{escape(label[:24])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
