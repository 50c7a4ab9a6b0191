"""The trajectory workflow as an inline SVG, drawn in pure Python from the workflow itself.

The coordinator's trajectory page shows the workflow with the current state marked. Graphviz is
only an optional extra (``mda workflow diagram --format svg``) and is absent in production, so
this module lays the diagram out itself: the states in the order of the workflow's definition
as a column of boxes on bands coloured by phase, a straight arrow for each step to the next
state, and every other transition as a labelled edge in a lane beside the column (moves ahead,
such as closing, on the right; moves back, such as a relapse, on the left).

States and transitions are read from the shared ``transitions`` machine of
:mod:`mda.workflows.trajectory`, so a transition added there appears here without a change.
Every edge carries ``data-trigger``, ``data-source`` and ``data-dest``.

The SVG is meant to be inlined in a page whose Content-Security-Policy says
``style-src 'self'``: that policy blocks a ``<style>`` element and ``style`` attributes inside
an inline SVG as well, so all styling is done with SVG presentation attributes (``fill``,
``stroke``, ``font-size`` ...), which the policy does not touch. The result needs no stylesheet,
no font, no script and refers to nothing outside itself.

The labels come from the caller, in the page's language; :func:`trajectory_diagram` supplies
them through Flask-Babel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from markupsafe import Markup, escape

from mda.vocabulary import STATE_PHASE, Phase, TrajectoryState
from mda.web.i18n import PHASE_LABELS, STATE_LABELS, TRIGGER_LABELS
from mda.workflows import trajectory
from mda.workflows.binding import SharedMachine

# The labels of states, phases and triggers are the pages' own (mda.web.i18n), so the diagram
# says what the rest of the trajectory page says.


def state_labels() -> dict[str, str]:
    """Every state's label in the page's language, keyed by the state's value."""
    return {state.value: str(label) for state, label in STATE_LABELS.items()}


def trigger_labels() -> dict[str, str]:
    """Every trigger's label in the page's language, keyed by the trigger's name."""
    return {name: str(label) for name, label in TRIGGER_LABELS.items()}


def phase_labels() -> dict[str, str]:
    """Every phase's label in the page's language, keyed by the phase's value."""
    return {phase.value: str(label) for phase, label in PHASE_LABELS.items()}


@dataclass(frozen=True)
class DiagramTexts:
    """The sentences of the diagram's description and the phase names, in one language.

    ``steps`` takes ``%(steps)s``, ``current`` takes ``%(step)s`` and ``move`` takes
    ``%(trigger)s``, ``%(sources)s`` and ``%(dest)s``. The defaults are English.
    """

    steps: str = "Steps in order: %(steps)s."
    current: str = "Current step: %(step)s."
    no_current: str = "No current step is marked."
    move: str = "%(trigger)s: from %(sources)s to %(dest)s."
    phases: Mapping[str, str] = field(default_factory=dict)


def diagram_texts() -> DiagramTexts:
    """:class:`DiagramTexts` in the page's language (needs a request or app context)."""
    return DiagramTexts(
        # The placeholders are filled in by workflow_svg, after translation.
        steps=_("Steps in order: %(steps)s."),
        current=_("Current step: %(step)s."),
        no_current=_("No current step is marked."),
        move=_("%(trigger)s: from %(sources)s to %(dest)s."),
        phases=phase_labels(),
    )


def trajectory_diagram(current: TrajectoryState | str | None) -> Markup:
    """The trajectory workflow with ``current`` marked, labelled in the page's language."""
    return workflow_svg(
        current,
        labels=state_labels(),
        trigger_labels=trigger_labels(),
        title=_("Course of the trajectory"),
        texts=diagram_texts(),
    )


# --- drawing constants --------------------------------------------------------------------

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
STATE_FONT_SIZE = 14
SMALL_FONT_SIZE = 12
STATE_LINE = 18  # line height of a state's name
SMALL_LINE = 14  # line height of an edge's label
CHAR_WIDTH = 0.52  # estimated average width of a character, in em (no font metrics here)
BOX_WIDTH = 200
BOX_MIN_HEIGHT = 44
BAND_PAD = 10  # the phase band around its boxes
BAND_HEADER = 22  # room for the phase's name above its first box
GAP_IN_PHASE = 40  # between two boxes of one phase (room for the arrow and its label)
GAP_BETWEEN_PHASES = 22  # between two bands
LANE_SPACING = 14
LABEL_MIN, LABEL_MAX = 56, 90  # width given to the labels of the edges beside the column
MARGIN = 12
ARROW = 8  # length of an arrowhead
CORNER = 8  # radius of an edge's rounded corners

# Colours: text is near-black on white or on a light band (contrast above 4.5:1 everywhere;
# tests/web/test_diagrams_svg.py computes it); box outlines and the phase names use each
# phase's dark colour, which also keeps 4.5:1 against its band.
BACKGROUND = "#ffffff"
TEXT = "#111111"
EDGE = "#3d3d3d"
EDGE_TEXT = "#2b2b2b"
BOX_FILL = "#ffffff"
CURRENT_FILL = "#fff6cc"
CURRENT_STROKE = "#000000"
# phase -> (band fill, dark colour for outlines and the phase's name)
PHASE_COLOURS: dict[str, tuple[str, str]] = {
    Phase.INTAKE.value: ("#e8f0fa", "#24507a"),
    Phase.SAFETY.value: ("#fbe9e6", "#8f2d1f"),
    Phase.RISK.value: ("#fdf1dc", "#6e4700"),
    Phase.RECOVERY.value: ("#e5f3e8", "#235a31"),
    Phase.AFTERCARE.value: ("#efe9f7", "#4f3680"),
    Phase.CLOSED.value: ("#ececec", "#444444"),
}
DEFAULT_COLOURS = ("#f1f1f1", "#444444")
CURRENT_MARK = "\u25b6"  # ▶, the cue that does not depend on colour


# --- layout -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    """One transition of the workflow: ``trigger`` leads from ``source`` to ``dest``."""

    trigger: str
    source: str
    dest: str


def workflow_edges(machine: SharedMachine = trajectory.MACHINE) -> list[Edge]:
    """Every (trigger, source, dest) of ``machine``, in the order of its definition."""
    return [
        # An internal transition (no dest) stays where it is.
        Edge(name, source, transition.dest or source)
        for name, event in machine.machine.events.items()
        for source, transitions in event.transitions.items()
        for transition in transitions
    ]


def _text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR_WIDTH


def _wrap(text: str, width: float, size: float) -> list[str]:
    """Greedy word wrap to an estimated ``width`` (a single long word stays whole)."""
    max_chars = max(6, int(width / (size * CHAR_WIDTH)))
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= max_chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _n(value: float) -> str:
    """A coordinate as short text."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)


def _rounded_path(points: Sequence[tuple[float, float]], radius: float = CORNER) -> str:
    """An orthogonal polyline through ``points`` with rounded corners."""

    def toward(xb: float, yb: float, x: float, y: float, r: float) -> str:
        dx, dy = (x > xb) - (x < xb), (y > yb) - (y < yb)
        return f"{_n(xb + dx * r)} {_n(yb + dy * r)}"

    parts = [f"M{_n(points[0][0])} {_n(points[0][1])}"]
    for (xa, ya), (xb, yb), (xc, yc) in zip(points, points[1:], points[2:], strict=False):
        r = min(radius, (abs(xb - xa) + abs(yb - ya)) / 2, (abs(xc - xb) + abs(yc - yb)) / 2)
        parts.append(f"L{toward(xb, yb, xa, ya, r)}")
        parts.append(f"Q{_n(xb)} {_n(yb)} {toward(xb, yb, xc, yc, r)}")
    parts.append(f"L{_n(points[-1][0])} {_n(points[-1][1])}")
    return " ".join(parts)


def _arrowhead(x: float, y: float, dx: int, dy: int) -> str:
    """A triangle with its tip at (x, y) pointing in direction (dx, dy)."""
    bx, by = x - dx * ARROW, y - dy * ARROW
    px, py = -dy * ARROW * 0.55, dx * ARROW * 0.55
    return " ".join(f"{_n(a)},{_n(b)}" for a, b in ((x, y), (bx + px, by + py), (bx - px, by - py)))


def _text(
    x: float,
    baseline: float,
    lines: Sequence[str],
    *,
    size: int = SMALL_FONT_SIZE,
    line_height: int = SMALL_LINE,
    fill: str = EDGE_TEXT,
    anchor: str = "start",
    weight: str | None = None,
    halo: bool = False,
) -> str:
    """A ``<text>`` whose first line sits on ``baseline``, one ``<tspan>`` per further line."""
    attrs = (
        f'x="{_n(x)}" y="{_n(baseline)}" font-size="{size}" fill="{fill}" text-anchor="{anchor}"'
    )
    if weight:
        attrs += f' font-weight="{weight}"'
    if halo:
        # A white outline behind the letters keeps a label readable where it crosses a line.
        attrs += (
            f' stroke="{BACKGROUND}" stroke-width="4" stroke-linejoin="round" paint-order="stroke"'
        )
    first, *rest = lines
    body = str(escape(first)) + "".join(
        f'<tspan x="{_n(x)}" dy="{line_height}">{escape(line)}</tspan>' for line in rest
    )
    return f"<text {attrs}>{body}</text>"


@dataclass
class _Box:
    state: str
    phase: str
    lines: list[str]
    x: float = 0
    y: float = 0
    height: float = 0
    # Per side: what meets the box there, top to bottom, with the room each needs above it:
    # ("in", dest) where a lane arrives, ("out", edge) where an edge leaves under its label.
    slots: dict[str, list[tuple[tuple[str, Any], float]]] = field(
        default_factory=lambda: {"left": [], "right": []}
    )

    def slots_height(self, side: str) -> float:
        return sum(room + 6 for _key, room in self.slots[side]) + 4

    def slot_y(self, side: str, key: tuple[str, Any]) -> float:
        # The slots as one block, centred on the box.
        y = self.y + (self.height - self.slots_height(side)) / 2 + 2
        for slot, room in self.slots[side]:
            y += room + 3
            if slot == key:
                return y
            y += 3
        raise KeyError(key)


def workflow_svg(
    current: TrajectoryState | str | None,
    *,
    labels: Mapping[str, str],
    trigger_labels: Mapping[str, str],
    title: str,
    texts: DiagramTexts | None = None,
    machine: SharedMachine = trajectory.MACHINE,
    id_prefix: str = "workflow-diagram",
) -> Markup:
    """The workflow of ``machine`` as an inline ``<svg>``, with ``current`` marked.

    ``labels`` maps a state's value and ``trigger_labels`` a trigger's name to the text shown
    (the raw name where one is missing); ``title`` names the diagram and ``texts`` gives the
    sentences of its description and the phases' names (English by default). ``id_prefix``
    keeps the ids of the title and description unique when a page shows several diagrams.
    The current state gets a thick outline, a "▶" before its name, bold text and
    ``aria-current="step"``.
    """
    texts = texts or DiagramTexts()
    current_value = None if current is None else str(getattr(current, "value", current))
    states = [str(state) for state in machine.states]
    order = {state: i for i, state in enumerate(states)}
    edges = workflow_edges(machine)

    def label(state: str) -> str:
        return str(labels.get(state, state))

    def trigger_label(name: str) -> str:
        return str(trigger_labels.get(name, name))

    def phase_of(state: str) -> str:
        try:
            return STATE_PHASE[TrajectoryState(state)].value
        except ValueError:
            return ""

    # The main path: the first transition from each state to the next one in the definition.
    main: dict[str, Edge] = {}
    side: list[Edge] = []
    for edge in edges:
        nxt = order[edge.source] + 1
        if nxt < len(states) and states[nxt] == edge.dest and edge.source not in main:
            main[edge.source] = edge
        else:
            side.append(edge)

    def side_of(edge: Edge) -> str:
        # Moves back (a relapse, reopening) on the left, moves ahead (closing) on the right.
        return "left" if order[edge.dest] < order[edge.source] else "right"

    # One lane per side and destination; shorter lanes lie nearer the column, so fewer cross.
    lanes: dict[tuple[str, str], int] = {}
    for side_name in ("left", "right"):
        spans: dict[str, int] = {}
        for edge in side:
            if side_of(edge) == side_name:
                span = abs(order[edge.dest] - order[edge.source])
                spans[edge.dest] = max(spans.get(edge.dest, 0), span)
        for i, dest in enumerate(sorted(spans, key=lambda d: (spans[d], order[d]))):
            lanes[(side_name, dest)] = i
    lane_count = {name: sum(1 for key in lanes if key[0] == name) for name in ("left", "right")}

    # The room for the labels beside the column follows the longest label, within limits;
    # a longer one wraps.
    label_room: dict[str, float] = {}
    for side_name in ("left", "right"):
        widths = [
            _text_width(trigger_label(edge.trigger), SMALL_FONT_SIZE)
            for edge in side
            if side_of(edge) == side_name
        ]
        label_room[side_name] = min(max([LABEL_MIN, *widths]), LABEL_MAX) if widths else 0
    side_lines = {
        edge: _wrap(trigger_label(edge.trigger), label_room[side_of(edge)], SMALL_FONT_SIZE)
        for edge in side
    }

    boxes = {
        state: _Box(
            state=state,
            phase=phase_of(state),
            lines=_wrap(
                (f"{CURRENT_MARK} " if state == current_value else "") + label(state),
                BOX_WIDTH - 20,
                STATE_FONT_SIZE,
            ),
        )
        for state in states
    }
    for (side_name, dest), _lane in sorted(lanes.items(), key=lambda item: item[1]):
        boxes[dest].slots[side_name].append((("in", dest), 4))
    for edge in side:
        room = SMALL_LINE * len(side_lines[edge])
        boxes[edge.source].slots[side_of(edge)].append((("out", edge), room))

    # Horizontally: lanes, labels, the column, labels, lanes.
    def beside(side_name: str) -> float:
        if not lane_count[side_name]:
            return MARGIN + BAND_PAD
        return MARGIN + (lane_count[side_name] - 1) * LANE_SPACING + label_room[side_name] + 24

    column_x = beside("left")
    column_right = column_x + BOX_WIDTH
    width = column_right + beside("right")
    center = column_x + BOX_WIDTH / 2

    def lane_x(side_name: str, lane: int) -> float:
        offset = label_room[side_name] + 24 + lane * LANE_SPACING
        return column_x - offset if side_name == "left" else column_right + offset

    # The main path's labels go right of its arrows, as far as the right-hand lanes.
    main_room = BOX_WIDTH / 2 - 12 + (label_room["right"] + 16 if lane_count["right"] else 0)
    main_lines = {
        source: _wrap(trigger_label(edge.trigger), main_room, SMALL_FONT_SIZE)
        for source, edge in main.items()
    }

    # Vertically: a band for each run of states of one phase.
    bands: list[tuple[str, list[_Box]]] = []
    for state in states:
        box = boxes[state]
        if bands and bands[-1][0] == box.phase:
            bands[-1][1].append(box)
        else:
            bands.append((box.phase, [box]))
    y: float = MARGIN
    band_rects: list[tuple[str, float, float, list[str]]] = []
    previous: _Box | None = None
    for phase, members in bands:
        # The phase's name heads its band, in the left half (the arrow runs down the middle),
        # unless the band's only state is named the same.
        name = str(texts.phases.get(phase, phase))
        shown = not (len(members) == 1 and name.casefold() == label(members[0].state).casefold())
        header = _wrap(name, BOX_WIDTH / 2 - 14, SMALL_FONT_SIZE) if shown and name else []
        header_height = BAND_HEADER + SMALL_LINE * (len(header) - 1) if header else BAND_PAD
        if previous is not None and previous.state in main_lines:
            # The arrow into this band crosses two paddings, the gap and the header.
            needed = SMALL_LINE * len(main_lines[previous.state]) + 14
            y += max(0, needed - (2 * BAND_PAD + GAP_BETWEEN_PHASES + header_height))
        top = y
        y += header_height
        for i, box in enumerate(members):
            if i:
                above = len(main_lines.get(members[i - 1].state, ()))
                y += max(GAP_IN_PHASE, SMALL_LINE * above + 14)
            box.x, box.y = column_x, y
            box.height = max(
                BOX_MIN_HEIGHT,
                16 + STATE_LINE * len(box.lines),
                box.slots_height("left") + 8,
                box.slots_height("right") + 8,
            )
            y += box.height
            previous = box
        y += BAND_PAD
        band_rects.append((phase, top, y, header))
        y += GAP_BETWEEN_PHASES
    height = y - GAP_BETWEEN_PHASES + MARGIN

    title_id, desc_id = escape(f"{id_prefix}-title"), escape(f"{id_prefix}-desc")
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" role="img"'
        f' viewBox="0 0 {_n(width)} {_n(height)}" width="100%"'
        f' preserveAspectRatio="xMidYMin meet"'
        f' aria-labelledby="{title_id}" aria-describedby="{desc_id}"'
        f' font-family="{escape(FONT)}">',
        f'<title id="{title_id}">{escape(title)}</title>',
    ]

    # The description: the states in order, the current one, and every move in words.
    description = [texts.steps % {"steps": ", ".join(label(s) for s in states)}]
    if current_value in boxes:
        description.append(texts.current % {"step": label(current_value)})
    else:
        description.append(texts.no_current)
    moves: dict[tuple[str, str], list[str]] = {}
    for edge in edges:
        moves.setdefault((edge.trigger, edge.dest), []).append(edge.source)
    for (name, dest), sources in moves.items():
        description.append(
            texts.move
            % {
                "trigger": trigger_label(name),
                "sources": ", ".join(label(source) for source in sources),
                "dest": label(dest),
            }
        )
    out.append(f'<desc id="{desc_id}">{escape(" ".join(description))}</desc>')
    out.append(f'<rect width="100%" height="100%" fill="{BACKGROUND}"/>')

    for phase, top, bottom, header in band_rects:
        fill, dark = PHASE_COLOURS.get(phase, DEFAULT_COLOURS)
        out.append(f'<g class="phase" data-phase="{escape(phase)}">')
        out.append(
            f'<rect x="{_n(column_x - BAND_PAD)}" y="{_n(top)}"'
            f' width="{_n(BOX_WIDTH + 2 * BAND_PAD)}" height="{_n(bottom - top)}" rx="10"'
            f' fill="{fill}" stroke="{dark}" stroke-width="1" stroke-opacity="0.5"/>'
        )
        if header:
            out.append(_text(column_x, top + 16, header, fill=dark, weight="600"))
        out.append("</g>")

    def edge_open(edge: Edge, kind: str) -> str:
        return (
            f'<g class="edge {kind}" data-trigger="{escape(edge.trigger)}"'
            f' data-source="{escape(edge.source)}" data-dest="{escape(edge.dest)}">'
        )

    # The main path: straight down, the trigger's name beside the arrow.
    for source, edge in main.items():
        src, dst = boxes[source], boxes[edge.dest]
        y0, y1 = src.y + src.height, dst.y
        lines = main_lines[source]
        out.append(edge_open(edge, "main"))
        out.append(
            f'<path d="M{_n(center)} {_n(y0)} L{_n(center)} {_n(y1 - ARROW)}"'
            f' fill="none" stroke="{EDGE}" stroke-width="2"/>'
        )
        out.append(f'<polygon points="{_arrowhead(center, y1, 0, 1)}" fill="{EDGE}"/>')
        baseline = (y0 + y1) / 2 - (len(lines) - 1) * SMALL_LINE / 2 + 4
        out.append(_text(center + 8, baseline, lines, halo=True))
        out.append("</g>")

    # The other moves: out of the source's side under their label, along their lane, and
    # into the destination's side.
    for edge in side:
        side_name = side_of(edge)
        outward = -1 if side_name == "left" else 1
        edge_x = column_x if side_name == "left" else column_right
        lx = lane_x(side_name, lanes[(side_name, edge.dest)])
        ys = boxes[edge.source].slot_y(side_name, ("out", edge))
        yd = boxes[edge.dest].slot_y(side_name, ("in", edge.dest))
        path = _rounded_path([(edge_x, ys), (lx, ys), (lx, yd), (edge_x - outward * ARROW, yd)])
        lines = side_lines[edge]
        out.append(edge_open(edge, "side"))
        out.append(f'<path d="{path}" fill="none" stroke="{EDGE}" stroke-width="1.5"/>')
        out.append(f'<polygon points="{_arrowhead(edge_x, yd, -outward, 0)}" fill="{EDGE}"/>')
        out.append(
            _text(
                edge_x + outward * (BAND_PAD + 4),
                ys - 4 - (len(lines) - 1) * SMALL_LINE,
                lines,
                anchor="end" if side_name == "left" else "start",
                halo=True,
            )
        )
        out.append("</g>")

    # The states, on top of everything.
    for state in states:
        box = boxes[state]
        dark = PHASE_COLOURS.get(box.phase, DEFAULT_COLOURS)[1]
        is_current = state == current_value
        attrs = (
            f'class="state{" current" if is_current else ""}" data-state="{escape(state)}"'
            f' data-phase="{escape(box.phase)}"'
        )
        if is_current:
            attrs += ' aria-current="step"'
        out.append(f"<g {attrs}>")
        out.append(
            f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{BOX_WIDTH}" height="{_n(box.height)}"'
            f' rx="6" fill="{CURRENT_FILL if is_current else BOX_FILL}"'
            f' stroke="{CURRENT_STROKE if is_current else dark}"'
            f' stroke-width="{4 if is_current else 1.5}"/>'
        )
        baseline = box.y + box.height / 2 - (len(box.lines) - 1) * STATE_LINE / 2 + 5
        out.append(
            _text(
                center,
                baseline,
                box.lines,
                size=STATE_FONT_SIZE,
                line_height=STATE_LINE,
                fill=TEXT,
                anchor="middle",
                weight="700" if is_current else None,
            )
        )
        out.append("</g>")
    out.append("</svg>")
    # Safe: every label, name and id above went through escape(); the rest is this module's
    # own numbers and colours.
    return Markup("".join(out))  # noqa: S704
