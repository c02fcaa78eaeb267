"""Charts drawn on the server as inline SVG: no JavaScript, no chart library, readable without colour
(every bar has a title for screen readers and hover)."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#ad494a",
)


def stacked_days(series: dict[str, list[int]], end: datetime, *, width: int = 640, height: int = 200) -> str:
    """Stacked bars, one per day, one colour per series; a legend underneath."""
    days = max((len(v) for v in series.values()), default=14)
    totals = [sum(v[i] for v in series.values()) for i in range(days)]
    top = max([*totals, 1])
    left, bottom, plot_h = 36, 24, height - 24 - 8
    bar_w = (width - left - 8) / days
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height + 20}" '
        f'viewBox="0 0 {width} {height + 20}" class="chart">',
        f'<text x="2" y="12" font-size="10">{top}</text>',
        f'<text x="2" y="{height - bottom}" font-size="10">0</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}" stroke="#999"/>',
    ]
    first = end - timedelta(days=days - 1)
    for i in range(days):
        y: float = height - bottom
        day = (first + timedelta(days=i)).strftime("%d %b")
        for n, (name, values) in enumerate(series.items()):
            h = values[i] / top * plot_h if i < len(values) else 0
            if h <= 0:
                continue
            y -= h
            parts.append(
                f'<rect x="{left + i * bar_w + 1:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[n % len(PALETTE)]}"><title>{escape(name)} {day}: {values[i]}</title></rect>'
            )
        if i % max(1, days // 7) == 0:
            parts.append(
                f'<text x="{left + i * bar_w:.1f}" y="{height - 8}" font-size="10">{escape(day)}</text>'
            )
    x, y = left, height + 6
    for n, name in enumerate(series):
        if x + 24 + 7 * len(name) > width:  # the legend wraps
            x, y = left, y + 16
        parts.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{PALETTE[n % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14}" y="{y + 9}" font-size="11">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    parts.append("</svg>")
    full = f'height="{y + 14}" viewBox="0 0 {width} {y + 14}"'
    parts[0] = parts[0].replace(f'height="{height + 20}" viewBox="0 0 {width} {height + 20}"', full)
    return "".join(parts)


def bars(counts: list[tuple[str, int]], *, width: int = 640, row: int = 18) -> str:
    """Horizontal bars, largest first: open exceptions by reason."""
    counts = sorted(counts, key=lambda kv: -kv[1])
    top = max([n for _, n in counts] + [1])
    label_w = 200
    height = row * len(counts) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" class="chart">'
    ]
    for i, (name, n) in enumerate(counts):
        y = i * row + 2
        w = (width - label_w - 40) * n / top
        parts.append(f'<text x="0" y="{y + 12}" font-size="11">{escape(name)}</text>')
        parts.append(
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row - 4}" fill="{PALETTE[0]}">'
            f"<title>{escape(name)}: {n}</title></rect>"
        )
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 12}" font-size="11">{n}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines(
    series: dict[str, list[tuple[datetime, int]]],
    start: datetime,
    end: datetime,
    *,
    unit: str = "",
    width: int = 640,
    height: int = 180,
) -> str:
    """One line per series over [start, end] (points at their times); a legend underneath. Each point has a
    title for hover and screen readers."""
    top = max([n for points in series.values() for _, n in points] + [1])
    left, bottom, plot_h = 44, 24, height - 24 - 8
    span = max((end - start).total_seconds(), 1.0)
    plot_w = width - left - 8

    def x(at: datetime) -> float:
        return left + plot_w * (at - start).total_seconds() / span

    def y(n: int) -> float:
        return height - bottom - n / top * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height + 20}" '
        f'viewBox="0 0 {width} {height + 20}" class="chart">',
        f'<text x="2" y="12" font-size="10">{top}{escape(unit)}</text>',
        f'<text x="2" y="{height - bottom}" font-size="10">0</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}" stroke="#999"/>',
        f'<text x="{left}" y="{height - 8}" font-size="10">{start:%d %b %H:%M}</text>',
        f'<text x="{width - 8}" y="{height - 8}" font-size="10" text-anchor="end">{end:%d %b %H:%M}</text>',
    ]
    for n, (name, points) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        path = " ".join(f"{x(at):.1f},{y(v):.1f}" for at, v in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
        for at, v in points:
            parts.append(
                f'<circle cx="{x(at):.1f}" cy="{y(v):.1f}" r="2" fill="{colour}">'
                f"<title>{escape(name)} {at:%d %b %H:%M}: {v}{escape(unit)}</title></circle>"
            )
    lx, ly = left, height + 6
    for n, name in enumerate(series):
        if lx + 24 + 7 * len(name) > width:
            lx, ly = left, ly + 16
        parts.append(f'<rect x="{lx}" y="{ly}" width="10" height="10" fill="{PALETTE[n % len(PALETTE)]}"/>')
        parts.append(f'<text x="{lx + 14}" y="{ly + 9}" font-size="11">{escape(name)}</text>')
        lx += 24 + 7 * len(name)
    parts.append("</svg>")
    full = f'height="{ly + 14}" viewBox="0 0 {width} {ly + 14}"'
    parts[0] = parts[0].replace(f'height="{height + 20}" viewBox="0 0 {width} {height + 20}"', full)
    return "".join(parts)
