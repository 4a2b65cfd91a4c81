"""Inline SVG charts, drawn on the server: no JavaScript, no CDN.

The one chart implementation: the Fava reports page and the CLI's HTML
reports (`reports.renderers.html`) both draw with it. Each function returns
`Markup` holding one `<svg>` element that scales to its container (viewBox)
and is styled by classes (`adj-chart`, `adj-s0`..): the extension's
stylesheet maps them onto Fava's colour variables, a standalone file embeds
`STYLE`. Every label is escaped; numbers are formatted here. Bars and
points carry a `<title>` so hovering shows the exact value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal

from markupsafe import Markup, escape

Number = int | float | Decimal
WIDTH = 600
HEIGHT = 270
PAD_LEFT = 96
PAD_RIGHT = 14
PAD_TOP = 14
PAD_BOTTOM = 66
SERIES_CLASSES = 6
FONT = 12
"""Every text's size, in the svg's own units. The svg is drawn at its own size
(width = viewBox width) and only ever shrinks to fit a narrow screen, so this
is the size read on the page: never the 7 px a stretched viewBox once gave."""
LEGEND_Y = HEIGHT - 8
X_LABEL_Y = HEIGHT - 28
COLOURS = ("#0065a3", "#e08a00", "#3c9a3c", "#8e44ad", "#c0392b", "#7f8c8d")
STYLE = "".join([
    ".adj-chart { max-width: 100%; height: auto; display: block; }",
    ".adj-chart text { fill: #4a545e; font-family: system-ui, sans-serif; }",
    ".adj-chart .adj-chart-label, .adj-chart .adj-chart-axis-label { fill: #1d2329; }",
    ".adj-chart .adj-chart-grid { stroke: #e3e6e9; stroke-width: 1; }",
    ".adj-chart .adj-chart-zero { stroke: #888; stroke-width: 1; }",
    ".adj-chart polyline.adj-line { fill: none; stroke-width: 2; }",
    ".adj-chart rect { stroke-width: 0; }",
    *(f".adj-chart .adj-s{i} {{ fill: {c}; stroke: {c}; }}" for i, c in enumerate(COLOURS)),
])
"""The charts' CSS for a page without the extension's stylesheet (its colours are
the Fava page's defaults), so a saved report looks as the reports page does."""


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    base = 10 ** exponent
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * base:
            return float(step * base)
    return float(10 * base)


def _fmt(value: float) -> str:
    """A number as a tick or tooltip says it: in full, grouped by thousands
    (62,000, not 62k); only beyond a hundred million in millions."""
    if abs(value) >= 100_000_000:
        return f"{value / 1_000_000:,.0f}M"
    if value == int(value) or abs(value) >= 1_000:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _text(x: float, y: float, text: str, *, cls: str = "adj-chart-axis", anchor: str = "",
          extra: str = "") -> str:
    anchor_attr = f' text-anchor="{anchor}"' if anchor else ""
    return (f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" font-size="{FONT}"{anchor_attr}'
            f"{extra}>{escape(text)}</text>")


def _open(title: str, height: int) -> list[str]:
    return [f'<svg class="adj-chart" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
            'preserveAspectRatio="xMinYMin meet">', f"<title>{escape(title)}</title>"]


def _legend(names: Sequence[str], y: float) -> list[str]:
    parts: list[str] = []
    x = float(PAD_LEFT)
    for i, name in enumerate(names):
        cls = f"adj-s{i % SERIES_CLASSES}"
        parts.append(f'<rect class="{cls}" x="{x:.1f}" y="{y - 10:.1f}" width="11" '
                     'height="11" rx="2"/>')
        parts.append(_text(x + 15, y, name, cls="adj-chart-legend"))
        x += 28 + 7.4 * len(name)
    return parts


def _axis_labels(y_label: str, x_label: str) -> list[str]:
    """The axes' names (with their unit): y turned along its axis, x below the ticks."""
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts: list[str] = []
    if y_label:
        cy = PAD_TOP + inner_h / 2
        parts.append(_text(16, cy, y_label, cls="adj-chart-axis-label", anchor="middle",
                           extra=f' transform="rotate(-90 16 {cy:.1f})"'))
    if x_label:
        cx = PAD_LEFT + (WIDTH - PAD_LEFT - PAD_RIGHT) / 2
        parts.append(_text(cx, X_LABEL_Y, x_label, cls="adj-chart-axis-label",
                           anchor="middle"))
    return parts


def _frame(low: float, high: float, title: str) -> list[str]:
    """The svg opening, grid lines and y labels for a value range low..high."""
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = _open(title, HEIGHT)
    for i in range(5):
        value = low + (high - low) * i / 4
        y = PAD_TOP + inner_h - (value - low) / (high - low) * inner_h
        parts.append(f'<line class="adj-chart-grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(_text(PAD_LEFT - 6, y + 4, _fmt(value), anchor="end"))
    if low < 0 < high:
        y0 = PAD_TOP + inner_h - (0 - low) / (high - low) * inner_h
        parts.append(f'<line class="adj-chart-zero" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" '
                     f'y1="{y0:.1f}" y2="{y0:.1f}"/>')
    return parts


def _x_labels(labels: Sequence[str], centers: Sequence[float]) -> list[str]:
    # A month label ("2026-01") is about 50 units wide at FONT: one in `step`
    # keeps them apart.
    room = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(1, len(labels))
    step = max(1, math.ceil(58 / room))
    y = HEIGHT - PAD_BOTTOM + 17
    return [_text(x, y, label, anchor="middle")
            for i, (label, x) in enumerate(zip(labels, centers, strict=True)) if i % step == 0]


def empty_chart(title: str) -> Markup:
    return Markup("".join([*_open(title, 60),
                           _text(WIDTH / 2, 34, "no data in this period", anchor="middle"),
                           "</svg>"]))


def bar_chart(labels: Sequence[str], series: Mapping[str, Sequence[Number]], *,
              title: str, unit: str = "", integer: bool = True, y_label: str = "",
              x_label: str = "") -> Markup:
    """Stacked vertical bars: one bar per label, one segment per series."""
    if not labels or not series:
        return empty_chart(title)
    names = list(series)
    totals = [sum(float(series[n][i]) for n in names) for i in range(len(labels))]
    high = _nice_max(max([*totals, 0.0]))
    if integer:
        high = float(max(4, math.ceil(high / 4) * 4))
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = inner_w / len(labels)
    bar = max(2.0, slot * 0.7)
    parts = _frame(0.0, high, title)
    centers: list[float] = []
    for i, label in enumerate(labels):
        x = PAD_LEFT + slot * i + (slot - bar) / 2
        centers.append(x + bar / 2)
        base = float(PAD_TOP + inner_h)
        for k, name in enumerate(names):
            value = float(series[name][i])
            if value <= 0:
                continue
            h = value / high * inner_h
            base -= h
            tip = f"{label} · {name}: {_fmt(value)}{(' ' + unit) if unit else ''}"
            parts.append(f'<rect class="adj-s{k % SERIES_CLASSES}" x="{x:.1f}" y="{base:.1f}" '
                         f'width="{bar:.1f}" height="{h:.1f}"><title>{escape(tip)}</title>'
                         "</rect>")
    parts += _x_labels(labels, centers)
    parts += _axis_labels(y_label, x_label)
    parts += _legend(names, LEGEND_Y)
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(labels: Sequence[str], series: Mapping[str, Sequence[Number | None]], *,
               title: str, unit: str = "", y_label: str = "", x_label: str = "") -> Markup:
    """One line per series over the labels; None leaves a gap."""
    values = [float(v) for s in series.values() for v in s if v is not None]
    if not labels or not values:
        return empty_chart(title)
    low = min(0.0, *values)
    peak = max([*values, 0.0])
    # Only negative values (a month of credits): the axis ends at 0, not at 1.
    high = _nice_max(peak) if peak > 0 or low == 0 else 0.0
    if low < 0:
        low = -_nice_max(-low)
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = inner_w / len(labels)
    centers = [PAD_LEFT + slot * i + slot / 2 for i in range(len(labels))]

    def y_of(value: float) -> float:
        return PAD_TOP + inner_h - (value - low) / (high - low) * inner_h

    parts = _frame(low, high, title)
    for k, (name, points) in enumerate(series.items()):
        cls = f"adj-s{k % SERIES_CLASSES}"
        segment: list[str] = []
        for x, value in zip(centers, points, strict=True):
            if value is None:
                if len(segment) > 1:
                    parts.append(f'<polyline class="adj-line {cls}" points="{" ".join(segment)}"/>')
                segment = []
                continue
            segment.append(f"{x:.1f},{y_of(float(value)):.1f}")
        if len(segment) > 1:
            parts.append(f'<polyline class="adj-line {cls}" points="{" ".join(segment)}"/>')
        for label, x, value in zip(labels, centers, points, strict=True):
            if value is None:
                continue
            tip = f"{label} · {name}: {_fmt(float(value))}{(' ' + unit) if unit else ''}"
            parts.append(f'<circle class="{cls}" cx="{x:.1f}" cy="{y_of(float(value)):.1f}" '
                         f'r="3"><title>{escape(tip)}</title></circle>')
    parts += _x_labels(labels, centers)
    parts += _axis_labels(y_label, x_label)
    parts += _legend(list(series), LEGEND_Y)
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(items: Sequence[tuple[str, Number]], *, title: str, unit: str = "",
               limit: int = 12) -> Markup:
    """Horizontal bars, largest first: for breakdowns by type, category, state.
    Each bar is labelled with its value and `unit` (what the bars count)."""
    shown = sorted(items, key=lambda item: -float(item[1]))[:limit]
    if not shown:
        return empty_chart(title)
    row_h = 24
    label_w = 200
    height = PAD_TOP + row_h * len(shown) + 8
    high = _nice_max(max(float(v) for _, v in shown))
    inner_w = WIDTH - label_w - PAD_RIGHT - 110
    parts = _open(title, height)
    for i, (label, value) in enumerate(shown):
        y = PAD_TOP + i * row_h
        w = max(1.0, float(value) / high * inner_w)
        # "1 request", "2 requests": a plural unit loses its s for one.
        said = unit[:-1] if unit.endswith("s") and float(value) == 1 else unit
        text = _fmt(float(value)) + (f" {said}" if said else "")
        parts.append(_text(label_w - 8, y + 15, label, cls="adj-chart-label", anchor="end"))
        parts.append(f'<rect class="adj-s{i % SERIES_CLASSES}" x="{label_w}" y="{y + 3}" '
                     f'width="{w:.1f}" height="{row_h - 7}" rx="2"><title>'
                     f"{escape(label)}: {escape(text)}</title></rect>")
        parts.append(_text(label_w + w + 6, y + 15, text))
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_charts(months: Sequence[str], by_kind: Mapping[str, Sequence[Number]],
                 requested: Mapping[str, Sequence[Number]],
                 applied: Mapping[str, Sequence[Number]]) -> dict[str, Markup]:
    """The trends charts, the same on the reports page and in the CLI's HTML:
    `by_kind` (requests per month, stacked by kind) and one `amounts:<CUR>`
    per currency (requested and applied, never added across currencies).
    Every series holds one value per month."""
    built = {"by_kind": bar_chart(months, by_kind, title="Requests per month by kind",
                                  y_label="Requests", x_label="Month")}
    nothing = [0] * len(months)  # a currency with none applied
    for currency in sorted(set(requested) | set(applied)):
        built[f"amounts:{currency}"] = line_chart(
            months, {f"requested {currency}": requested.get(currency, nothing),
                     f"applied {currency}": applied.get(currency, nothing)},
            title=f"Requested and applied amounts per month ({currency})", unit=currency,
            y_label=f"Amount ({currency})", x_label="Month requested")
    return built
