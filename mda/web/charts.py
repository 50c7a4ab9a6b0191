"""Bar, stacked bar and line charts as inline SVG, drawn on the server.

The pages' Content-Security-Policy is strict (``style-src 'self'``, no script): a ``<style>``
element or a ``style`` attribute inside an inline SVG would be blocked, so everything is drawn
with SVG presentation attributes (``fill``, ``stroke``, ``font-size``). Each chart has
``role="img"``, a ``<title>`` and a ``<desc>`` (referenced by ``aria-labelledby``), axis
labels in the page's language, and is meant to stand beside a data table with the same
figures: the table is what a screen reader and a copy-paste use.

A value of ``None`` (a suppressed cell) draws no bar; the table says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Colours with a contrast of at least 3:1 against white (WCAG 1.4.11), told apart by the legend
# and the table as well.
PALETTE = ("#01689b", "#d52b1e", "#39870c", "#a90061", "#6d4c00", "#42145f")
AXIS = "#1b1b1b"
GRID = "#d0d7dc"
FONT = "system-ui, sans-serif"

WIDTH = 640
LEFT, RIGHT, TOP = 56, 16, 16


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _e(text: object) -> str:
    return str(escape(str(text)))


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Axis ticks from 0 to at least ``top`` in steps of 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1.0) if top >= 1 else step
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def _tick_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else _n(value)


def _open(chart_id: str, title: str, desc: str, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {_n(height)}"'
        f' width="{WIDTH}" height="{_n(height)}" role="img" focusable="false"'
        f' aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="{FONT}"'
        f' font-size="12" fill="{AXIS}">',
        f'<title id="{chart_id}-title">{_e(title)}</title>',
        f'<desc id="{chart_id}-desc">{_e(desc)}</desc>',
    ]


def _y_axis(ticks: list[float], bottom: float, plot_h: float, label: str) -> list[str]:
    out = []
    top = ticks[-1]
    for tick in ticks:
        y = bottom - plot_h * tick / top
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_n(y)}" y2="{_n(y)}" stroke="{GRID}"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{_n(y + 4)}" text-anchor="end">{_tick_text(tick)}</text>'
        )
    out.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{_n(bottom)}" stroke="{AXIS}"/>'
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_n(bottom)}" y2="{_n(bottom)}"'
        f' stroke="{AXIS}"/>'
    )
    middle = TOP + plot_h / 2
    out.append(
        f'<text x="14" y="{_n(middle)}" text-anchor="middle"'
        f' transform="rotate(-90 14 {_n(middle)})">{_e(label)}</text>'
    )
    return out


def _x_labels(labels: Sequence[str], centres: list[float], bottom: float, slot: float) -> list[str]:
    """Category labels under the axis, turned when they do not fit side by side."""
    longest = max((len(label) for label in labels), default=0)
    turned = longest * 6.5 > slot
    out = []
    for label, x in zip(labels, centres, strict=True):
        if turned:
            y = bottom + 10
            out.append(
                f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="end"'
                f' transform="rotate(-45 {_n(x)} {_n(y)})">{_e(label)}</text>'
            )
        else:
            out.append(
                f'<text x="{_n(x)}" y="{_n(bottom + 16)}" text-anchor="middle">{_e(label)}</text>'
            )
    return out


def _label_room(labels: Sequence[str], slot: float) -> float:
    longest = max((len(label) for label in labels), default=0)
    if longest * 6.5 > slot:
        return 16 + longest * 6.5 * 0.72
    return 24


def _legend(series: Sequence[Series], y: float) -> list[str]:
    out = []
    x = float(LEFT)
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        out.append(f'<rect x="{_n(x)}" y="{_n(y - 10)}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{_n(x + 16)}" y="{_n(y)}">{_e(item.name)}</text>')
        x += 28 + len(item.name) * 6.5
    return out


def _close(out: list[str]) -> Markup:
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text is escaped above


def _frame(
    labels: Sequence[str], series: Sequence[Series], plot_h: float, x_label: str
) -> tuple[float, float, float]:
    """(slot width, bottom of the plot, total height) for ``labels`` along the x axis."""
    slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    bottom = TOP + plot_h
    room = _label_room(labels, slot)
    legend = 24 if len(series) > 1 else 0
    height = bottom + room + 20 + legend + 8
    return slot, bottom, height


def _x_axis_label(text: str, y: float) -> str:
    middle = LEFT + (WIDTH - LEFT - RIGHT) / 2
    return f'<text x="{_n(middle)}" y="{_n(y)}" text-anchor="middle">{_e(text)}</text>'


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    plot_height: float = 220,
) -> Markup:
    """Vertical bars, one group per label and one bar per series in the group."""
    top = max((v for s in series for v in s.values if v is not None), default=0)
    ticks = nice_ticks(float(top))
    slot, bottom, height = _frame(labels, series, plot_height, x_label)
    out = _open(chart_id, title, desc, height)
    out += _y_axis(ticks, bottom, plot_height, y_label)
    group = slot * 0.8
    bar = group / max(len(series), 1)
    centres = []
    for i, _label in enumerate(labels):
        x0 = LEFT + i * slot + (slot - group) / 2
        centres.append(LEFT + i * slot + slot / 2)
        for j, item in enumerate(series):
            value = item.values[i]
            if value is None or value <= 0:
                continue
            h = plot_height * value / ticks[-1]
            out.append(
                f'<rect x="{_n(x0 + j * bar)}" y="{_n(bottom - h)}" width="{_n(bar * 0.92)}"'
                f' height="{_n(h)}" fill="{PALETTE[j % len(PALETTE)]}"/>'
            )
    out += _x_labels(labels, centres, bottom, slot)
    label_bottom = bottom + _label_room(labels, slot)
    out.append(_x_axis_label(x_label, label_bottom + 14))
    if len(series) > 1:
        out += _legend(series, label_bottom + 38)
    return _close(out)


def stacked_bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    plot_height: float = 220,
) -> Markup:
    """One bar per label, made of a segment per series (bottom to top in the series' order)."""
    sums = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    ticks = nice_ticks(float(max(sums, default=0)))
    slot, bottom, height = _frame(labels, series, plot_height, x_label)
    out = _open(chart_id, title, desc, height)
    out += _y_axis(ticks, bottom, plot_height, y_label)
    width = slot * 0.6
    centres = []
    for i, _label in enumerate(labels):
        x0 = LEFT + i * slot + (slot - width) / 2
        centres.append(LEFT + i * slot + slot / 2)
        level = bottom
        for j, item in enumerate(series):
            value = item.values[i]
            if value is None or value <= 0:
                continue
            h = plot_height * value / ticks[-1]
            level -= h
            out.append(
                f'<rect x="{_n(x0)}" y="{_n(level)}" width="{_n(width)}" height="{_n(h)}"'
                f' fill="{PALETTE[j % len(PALETTE)]}" stroke="#fff"/>'
            )
    out += _x_labels(labels, centres, bottom, slot)
    label_bottom = bottom + _label_room(labels, slot)
    out.append(_x_axis_label(x_label, label_bottom + 14))
    out += _legend(series, label_bottom + 38)
    return _close(out)


def line_chart(
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    plot_height: float = 220,
) -> Markup:
    """One line per series over the labels (months), with a dot on every known value."""
    top = max((v for s in series for v in s.values if v is not None), default=0)
    ticks = nice_ticks(float(top))
    slot, bottom, height = _frame(labels, series, plot_height, x_label)
    out = _open(chart_id, title, desc, height)
    out += _y_axis(ticks, bottom, plot_height, y_label)
    centres = [LEFT + i * slot + slot / 2 for i in range(len(labels))]
    for j, item in enumerate(series):
        colour = PALETTE[j % len(PALETTE)]
        points = [
            (centres[i], bottom - plot_height * v / ticks[-1])
            for i, v in enumerate(item.values)
            if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
            dash = ' stroke-dasharray="6 3"' if j % 2 else ""
            out.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
            )
        for x, y in points:
            out.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3" fill="{colour}"/>')
    out += _x_labels(labels, centres, bottom, slot)
    label_bottom = bottom + _label_room(labels, slot)
    out.append(_x_axis_label(x_label, label_bottom + 14))
    if len(series) > 1:
        out += _legend(series, label_bottom + 38)
    return _close(out)
