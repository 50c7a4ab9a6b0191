"""Bar, stacked bar and line charts as inline SVG, drawn on the server.

The pages' Content-Security-Policy is strict (``style-src 'self'``, no script): a ``<style>``
element or a ``style`` attribute inside an inline SVG would be blocked, so everything is drawn
with SVG presentation attributes (``fill``, ``stroke``, ``font-size``). Each chart has
``role="img"``, a ``<title>`` and a ``<desc>`` (referenced by ``aria-labelledby``), axis
labels in the page's language, and is meant to stand beside a data table with the same
figures: the table is what a screen reader and a copy-paste use.

A value of ``None`` (a suppressed cell) draws no bar; the table says why.

Category labels that do not fit side by side under the axis are turned (45 degrees, or
upright when a turned label would reach past the chart's left edge) and the chart makes room
for the longest: its bottom margin, and its left margin where a turned label reaches back
under the y axis, come from the label's approximate width (characters x font size x 0.6),
so no label is cut off by the ``viewBox``. A label longer than :data:`MAX_LABEL` characters
is shortened with an ellipsis and keeps its full text in a ``<title>``.
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
FONT_SIZE = 12
#: An average character's advance in a sans-serif font, as a share of the font size: a little
#: over the real average, so a label drawn in the browser takes no more room than reckoned.
CHAR_WIDTH = 0.6 * FONT_SIZE
ASCENT, DESCENT = 0.8 * FONT_SIZE, 0.25 * FONT_SIZE
LINE = 1.25 * FONT_SIZE
MAX_LABEL = 32
GAP = 6  # between the axis and the labels, and around the labels


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _e(text: object) -> str:
    return str(escape(str(text)))


def text_width(text: str) -> float:
    """The approximate width of ``text`` at the charts' font size."""
    return len(text) * CHAR_WIDTH


def shortened(label: str) -> str:
    """``label`` as drawn: at most :data:`MAX_LABEL` characters, an ellipsis when cut."""
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1].rstrip() + "…"


def turned_box(x: float, y: float, width: float, angle: float) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of a label ending at (x, y) turned by ``-angle`` degrees.

    The label is ``text-anchor="end"``: its baseline runs from (x - width, y) to (x, y) before
    it is turned about (x, y), its glyphs from :data:`ASCENT` above to :data:`DESCENT` below.
    """
    a = math.radians(-angle)
    cos, sin = math.cos(a), math.sin(a)
    corners = [(-width, -ASCENT), (0.0, -ASCENT), (-width, DESCENT), (0.0, DESCENT)]
    xs = [x + cx * cos - cy * sin for cx, cy in corners]
    ys = [y + cx * sin + cy * cos for cx, cy in corners]
    return min(xs), min(ys), max(xs), max(ys)


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


@dataclass(frozen=True)
class Frame:
    """Where a chart's parts go: the plot's edges, the category slots, the labels' turn."""

    left: float
    bottom: float
    slot: float
    plot_h: float
    #: 0 (side by side), 45 or 90 degrees.
    angle: float
    #: From the axis down to below the lowest label.
    label_room: float
    legend_rows: tuple[tuple[int, ...], ...]
    height: float

    @property
    def right(self) -> float:
        return WIDTH - RIGHT

    def centre(self, index: int) -> float:
        return self.left + index * self.slot + self.slot / 2

    def label_anchor(self, index: int) -> tuple[float, float]:
        """Where the turned label of category ``index`` ends (its ``x``, ``y``)."""
        if self.angle >= 90:
            # Upright: the glyphs stand left of the anchor; centre them on the slot.
            return self.centre(index) + (ASCENT - DESCENT) / 2, self.bottom + GAP
        return self.centre(index) + GAP / 2, self.bottom + GAP


def _slot(left: float, count: int) -> float:
    return (WIDTH - left - RIGHT) / max(count, 1)


def _turned_left(widths: Sequence[float], angle: float) -> float:
    """The least left edge of the plot at which no label turned by ``angle`` passes x = 0."""
    left = float(LEFT)
    for _ in range(12):  # the slots narrow as the plot moves right: settle in a few rounds
        slot = _slot(left, len(widths))
        need = left
        for i, width in enumerate(widths):
            x0 = left + i * slot + slot / 2 + GAP / 2
            low = turned_box(x0, 0.0, width, angle)[0]
            need = max(need, left - low + GAP if low < GAP else left)
        if need <= left:
            break
        left = need
    return left


def _legend_rows(series: Sequence[Series], left: float) -> tuple[tuple[int, ...], ...]:
    """The legend's entries per row, wrapped at the chart's right edge."""
    rows: list[list[int]] = []
    x = left
    for index, item in enumerate(series):
        width = 16 + text_width(item.name)
        if not rows or (x + width > WIDTH - RIGHT and rows[-1]):
            rows.append([])
            x = left
        rows[-1].append(index)
        x += width + 12
    return tuple(tuple(row) for row in rows)


def frame(labels: Sequence[str], series: Sequence[Series], plot_h: float, legend: bool) -> Frame:
    """The frame of a chart with ``labels`` along the x axis (drawn :func:`shortened`)."""
    widths = [text_width(shortened(label)) for label in labels]
    longest = max(widths, default=0.0)
    left = float(LEFT)
    angle = 0.0
    if longest + GAP > _slot(left, len(labels)):
        angle = 45.0
        left = _turned_left(widths, angle)
        # Upright when labels at 45 degrees would take a large bite out of the plot, or would
        # lie closer together than a line of text (their distance is the slot x sin 45).
        crowded = _slot(left, len(labels)) * math.sin(math.radians(angle)) < LINE
        if left > 2 * LEFT or crowded:
            angle, left = 90.0, float(LEFT)
    slot = _slot(left, len(labels))
    bottom = TOP + plot_h
    if angle:
        low = max((turned_box(0.0, GAP, width, angle)[3] for width in widths), default=float(GAP))
        label_room = low + GAP
    else:
        label_room = GAP + ASCENT + DESCENT + GAP
    rows = _legend_rows(series, left) if legend else ()
    # The x axis' name below the labels (a line), then the legend's rows.
    height = bottom + label_room + FONT_SIZE + GAP + len(rows) * (FONT_SIZE + 12) + GAP
    return Frame(left, bottom, slot, plot_h, angle, label_room, rows, height)


def _open(chart_id: str, title: str, desc: str, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {_n(height)}"'
        f' width="{WIDTH}" height="{_n(height)}" role="img" focusable="false"'
        f' aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="{FONT}"'
        f' font-size="{FONT_SIZE}" fill="{AXIS}">',
        f'<title id="{chart_id}-title">{_e(title)}</title>',
        f'<desc id="{chart_id}-desc">{_e(desc)}</desc>',
    ]


def _y_axis(f: Frame, ticks: list[float], label: str) -> list[str]:
    out = []
    top = ticks[-1]
    for tick in ticks:
        y = f.bottom - f.plot_h * tick / top
        out.append(
            f'<line x1="{_n(f.left)}" x2="{_n(f.right)}" y1="{_n(y)}" y2="{_n(y)}"'
            f' stroke="{GRID}"/>'
        )
        out.append(
            f'<text x="{_n(f.left - 6)}" y="{_n(y + 4)}" text-anchor="end">'
            f"{_tick_text(tick)}</text>"
        )
    out.append(
        f'<line x1="{_n(f.left)}" x2="{_n(f.left)}" y1="{TOP}" y2="{_n(f.bottom)}"'
        f' stroke="{AXIS}"/>'
        f'<line x1="{_n(f.left)}" x2="{_n(f.right)}" y1="{_n(f.bottom)}" y2="{_n(f.bottom)}"'
        f' stroke="{AXIS}"/>'
    )
    middle = TOP + f.plot_h / 2
    x = f.left - 42
    out.append(
        f'<text x="{_n(x)}" y="{_n(middle)}" text-anchor="middle"'
        f' transform="rotate(-90 {_n(x)} {_n(middle)})">{_e(label)}</text>'
    )
    return out


def _x_labels(f: Frame, labels: Sequence[str]) -> list[str]:
    """Category labels under the axis, turned when they do not fit side by side."""
    out = []
    for index, label in enumerate(labels):
        drawn = shortened(label)
        full = f"<title>{_e(label)}</title>" if drawn != label else ""
        if f.angle:
            x, y = f.label_anchor(index)
            out.append(
                f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="end"'
                f' transform="rotate(-{_n(f.angle)} {_n(x)} {_n(y)})">{full}{_e(drawn)}</text>'
            )
        else:
            y = f.bottom + GAP + ASCENT
            out.append(
                f'<text x="{_n(f.centre(index))}" y="{_n(y)}" text-anchor="middle">'
                f"{full}{_e(drawn)}</text>"
            )
    return out


def _legend(f: Frame, series: Sequence[Series], y: float) -> list[str]:
    out = []
    for row in f.legend_rows:
        x = f.left
        for index in row:
            item = series[index]
            colour = PALETTE[index % len(PALETTE)]
            out.append(
                f'<rect x="{_n(x)}" y="{_n(y - 10)}" width="12" height="12" fill="{colour}"/>'
            )
            out.append(f'<text x="{_n(x + 16)}" y="{_n(y)}">{_e(item.name)}</text>')
            x += 16 + text_width(item.name) + 12
        y += FONT_SIZE + 12
    return out


def _around(f: Frame, labels: Sequence[str], series: Sequence[Series], x_label: str) -> list[str]:
    """What every chart has under its plot: the category labels, the x axis' name, a legend."""
    out = _x_labels(f, labels)
    y = f.bottom + f.label_room + FONT_SIZE
    middle = f.left + (f.right - f.left) / 2
    out.append(f'<text x="{_n(middle)}" y="{_n(y)}" text-anchor="middle">{_e(x_label)}</text>')
    out += _legend(f, series, y + GAP + FONT_SIZE + 12)
    return out


def _close(out: list[str]) -> Markup:
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text is escaped above


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
    f = frame(labels, series, plot_height, legend=len(series) > 1)
    out = _open(chart_id, title, desc, f.height)
    out += _y_axis(f, ticks, y_label)
    group = f.slot * 0.8
    bar = group / max(len(series), 1)
    for i, _label in enumerate(labels):
        x0 = f.left + i * f.slot + (f.slot - group) / 2
        for j, item in enumerate(series):
            value = item.values[i]
            if value is None or value <= 0:
                continue
            h = plot_height * value / ticks[-1]
            out.append(
                f'<rect x="{_n(x0 + j * bar)}" y="{_n(f.bottom - h)}" width="{_n(bar * 0.92)}"'
                f' height="{_n(h)}" fill="{PALETTE[j % len(PALETTE)]}"/>'
            )
    out += _around(f, labels, series, x_label)
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
    f = frame(labels, series, plot_height, legend=True)
    out = _open(chart_id, title, desc, f.height)
    out += _y_axis(f, ticks, y_label)
    width = f.slot * 0.6
    for i, _label in enumerate(labels):
        x0 = f.left + i * f.slot + (f.slot - width) / 2
        level = f.bottom
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
    out += _around(f, labels, series, x_label)
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
    f = frame(labels, series, plot_height, legend=len(series) > 1)
    out = _open(chart_id, title, desc, f.height)
    out += _y_axis(f, ticks, y_label)
    for j, item in enumerate(series):
        colour = PALETTE[j % len(PALETTE)]
        points = [
            (f.centre(i), f.bottom - plot_height * v / ticks[-1])
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
    out += _around(f, labels, series, x_label)
    return _close(out)
