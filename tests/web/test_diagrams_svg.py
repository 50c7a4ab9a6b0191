"""The workflow diagram of the trajectory page: an inline SVG drawn in pure Python from the
workflow's own definition, with the current state marked, self-contained and accessible."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from itertools import pairwise

import pytest
from flask import Flask, session

from mda.vocabulary import STATE_PHASE, TrajectoryState
from mda.web import diagrams, i18n
from mda.web.diagrams import DiagramTexts, workflow_svg
from mda.workflows import trajectory
from mda.workflows.binding import SharedMachine
from tests.conftest import make_test_app

SVG = "{http://www.w3.org/2000/svg}"
STATES = [state.value for state in TrajectoryState]


def _declared_transitions() -> set[tuple[str, str, str]]:
    """(trigger, source, dest) as the workflow module declares them."""
    return {
        (trigger, source.value, dest.value)
        for trigger, (sources, dest, _guard) in trajectory.TRIGGERS.items()
        for source in sources
    }


def _render(current=None, **kwargs) -> ET.Element:
    svg = workflow_svg(
        current,
        labels=kwargs.pop("labels", {}),
        trigger_labels=kwargs.pop("trigger_labels", {}),
        title=kwargs.pop("title", "Workflow"),
        **kwargs,
    )
    return ET.fromstring(str(svg))


def _groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if cls in g.get("class", "").split()]


def _edges(root: ET.Element) -> set[tuple[str, str, str]]:
    return {
        (g.get("data-trigger"), g.get("data-source"), g.get("data-dest"))
        for g in _groups(root, "edge")
    }


def _text_of(element: ET.Element) -> str:
    # Wrapped lines are separate <tspan>s: a space between them.
    return " ".join(" ".join(element.itertext()).split())


# --- drawn from the definition ---------------------------------------------------------------


def test_every_state_appears_once_in_the_order_of_the_workflow():
    root = _render()
    groups = _groups(root, "state")
    assert [g.get("data-state") for g in groups] == trajectory.MACHINE.states == STATES
    # The main path runs down the column in the definition's order.
    tops = [float(g.find(f"{SVG}rect").get("y")) for g in groups]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)


def test_every_transition_of_the_workflow_appears_as_an_edge():
    root = _render()
    edges = _edges(root)
    assert edges == _declared_transitions()
    assert edges == {(e.trigger, e.source, e.dest) for e in diagrams.workflow_edges()}
    # Each edge is drawn: a line, an arrowhead and the trigger's name.
    for group in _groups(root, "edge"):
        assert group.find(f"{SVG}path") is not None and group.find(f"{SVG}polygon") is not None
        assert _text_of(group) == group.get("data-trigger")


def test_the_main_path_runs_straight_and_the_other_moves_beside_it():
    root = _render()
    main = {(g.get("data-source"), g.get("data-dest")) for g in _groups(root, "main")}
    assert main == set(pairwise(STATES))
    side = {(g.get("data-trigger"), g.get("data-source")) for g in _groups(root, "side")}
    assert ("relapse", "recovery") in side and ("reopen", "closed") in side
    assert ("decline", "screening") in side and ("close", "referred") in side


def test_a_transition_added_to_the_workflow_is_drawn_too():
    extra = [
        {"trigger": "fast_track", "source": "referred", "dest": "team_forming"},
        {"trigger": "rescreen", "source": "aftercare", "dest": "screening"},
        {"trigger": "review", "source": "recovery", "dest": "recovery"},
        # A second trigger between two neighbours goes beside the column.
        {"trigger": "accept_urgently", "source": "screening", "dest": "team_forming"},
    ]
    machine = SharedMachine(STATES, trajectory._definitions() + extra)
    root = _render("recovery", machine=machine)
    added = {(d["trigger"], d["source"], d["dest"]) for d in extra}
    assert _edges(root) == _declared_transitions() | added
    assert {g.get("data-trigger") for g in _groups(root, "side")} >= {d["trigger"] for d in extra}


# --- the current state -----------------------------------------------------------------------


@pytest.mark.parametrize("state", list(TrajectoryState))
def test_exactly_the_current_state_is_marked(state):
    labels = {s: f"Label {s}" for s in STATES}
    root = _render(state, labels=labels)
    marked = [g for g in root.iter() if g.get("aria-current") is not None]
    assert len(marked) == 1
    assert marked[0].get("aria-current") == "step"
    assert marked[0].get("data-state") == state.value
    # Not by colour alone: a thicker outline, a sign before the name, bold text.
    rect = marked[0].find(f"{SVG}rect")
    others = [g.find(f"{SVG}rect") for g in _groups(root, "state") if g is not marked[0]]
    assert all(float(rect.get("stroke-width")) > 2 * float(o.get("stroke-width")) for o in others)
    assert _text_of(marked[0]).startswith("\u25b6 ")
    assert sum("\u25b6" in _text_of(g) for g in _groups(root, "state")) == 1
    desc = root.find(f"{SVG}desc").text
    assert f"Current step: Label {state.value}." in desc


def test_a_plain_string_names_the_current_state_too():
    marked = [g for g in _render("risk_care").iter() if g.get("aria-current")]
    assert [g.get("data-state") for g in marked] == ["risk_care"]


def test_none_marks_no_state():
    root = _render(None)
    assert not [g for g in root.iter() if g.get("aria-current") is not None]
    assert not any("\u25b6" in _text_of(g) for g in _groups(root, "state"))
    assert "No current step is marked." in root.find(f"{SVG}desc").text


# --- self-contained, safe, accessible ---------------------------------------------------------


def test_the_svg_refers_to_nothing_outside_itself():
    svg = str(workflow_svg("screening", labels={}, trigger_labels={}, title="T"))
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    for element in root.iter():
        assert element.tag.removeprefix(SVG) not in {
            "script",
            "foreignObject",
            "image",
            "use",
            "a",
            "style",
            "iframe",
        }
        for name, value in element.attrib.items():
            if name.endswith("href"):
                assert value.startswith("#"), (name, value)
            assert not name.startswith("on"), name  # no event handlers
            # The page's Content-Security-Policy (style-src 'self') blocks inline styles.
            assert name != "style"
            assert "url(" not in value or re.fullmatch(r"url\(#[\w-]+\)", value)
    # The only address is the SVG namespace itself.
    assert re.findall(r"https?://[^\s\"']+", svg) == ["http://www.w3.org/2000/svg"]
    assert "@import" not in svg and "@font-face" not in svg


def test_title_desc_role_and_scaling():
    root = _render("recovery", title="Verloop", id_prefix="diagram-7")
    assert root.get("role") == "img"
    assert root.get("width") == "100%" and root.get("height") is None
    assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox"))
    title, desc = root[0], root[1]
    assert title.tag == f"{SVG}title" and title.text == "Verloop"
    assert desc.tag == f"{SVG}desc"
    assert root.get("aria-labelledby") == title.get("id") == "diagram-7-title"
    assert root.get("aria-describedby") == desc.get("id") == "diagram-7-desc"
    # Narrow enough to stay readable when scaled to a phone (about 360 CSS pixels).
    width = float(root.get("viewBox").split()[2])
    assert width <= 480


def test_the_description_lists_the_states_in_order_and_every_move():
    labels = {s: s.upper() for s in STATES}
    triggers = {t: f"<{t}>" for t in trajectory.TRIGGER_NAMES}
    root = _render("aftercare", labels=labels, trigger_labels=triggers)
    desc = root.find(f"{SVG}desc").text
    assert desc.startswith("Steps in order: " + ", ".join(s.upper() for s in STATES) + ".")
    assert "Current step: AFTERCARE." in desc
    assert "<relapse>: from RISK_CARE, RECOVERY, AFTERCARE to IMMEDIATE_SAFETY." in desc
    assert "<reopen>: from CLOSED to IMMEDIATE_SAFETY." in desc
    for trigger in trajectory.TRIGGER_NAMES:
        assert f"<{trigger}>: from " in desc


def test_labels_are_escaped_and_long_ones_wrap():
    long = "A rather long name for a state that cannot possibly fit on one line of the box"
    root = _render(
        "screening",
        labels={"referred": "<script>alert(1)</script> & co", "screening": long},
        trigger_labels={"relapse": "Relapse </text><script>x</script>"},
    )
    assert not list(root.iter(f"{SVG}script"))
    referred = _groups(root, "state")[0]
    assert _text_of(referred) == "<script>alert(1)</script> & co"
    screening = _groups(root, "state")[1]
    assert len(list(screening.iter(f"{SVG}tspan"))) >= 2
    assert _text_of(screening) == "\u25b6 " + long
    assert float(screening.find(f"{SVG}rect").get("height")) > diagrams.BOX_MIN_HEIGHT


def test_phase_bands_group_the_states():
    texts = DiagramTexts(phases={"intake": "Intake", "aftercare": "Nazorg"})
    root = _render(labels={"aftercare": "Nazorg en monitoring"}, texts=texts)
    bands = [g.get("data-phase") for g in _groups(root, "phase")]
    assert bands == ["intake", "safety", "risk", "recovery", "aftercare", "closed"]
    states = {g.get("data-state"): g.get("data-phase") for g in _groups(root, "state")}
    assert states["referred"] == states["screening"] == states["team_forming"] == "intake"
    names = {g.get("data-phase"): _text_of(g) for g in _groups(root, "phase")}
    assert names["intake"] == "Intake" and names["aftercare"] == "Nazorg"


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_contrast_is_at_least_4_5_to_1():
    bands = [fill for fill, _dark in [*diagrams.PHASE_COLOURS.values(), diagrams.DEFAULT_COLOURS]]
    backgrounds = [diagrams.BACKGROUND, diagrams.BOX_FILL, diagrams.CURRENT_FILL, *bands]
    # State names on boxes; edge labels on the page, a band or a box; phase names on a band.
    pairs = [(diagrams.TEXT, bg) for bg in (diagrams.BOX_FILL, diagrams.CURRENT_FILL)]
    pairs += [(diagrams.EDGE_TEXT, bg) for bg in backgrounds]
    pairs += [(dark, fill) for fill, dark in diagrams.PHASE_COLOURS.values()]
    pairs += [(diagrams.DEFAULT_COLOURS[1], diagrams.DEFAULT_COLOURS[0])]
    for text, background in pairs:
        assert _contrast(text, background) >= 4.5, (text, background)
    # Every text colour in the SVG is one of those checked.
    root = _render("recovery")
    fills = {t.get("fill") for t in root.iter(f"{SVG}text")}
    assert fills <= {text for text, _bg in pairs}


# --- in the page's language -------------------------------------------------------------------


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    yield make_test_app()


@pytest.mark.parametrize(
    ("lang", "title", "steps", "current"),
    [
        ("nl", "Verloop van het traject", "Stappen in volgorde: ", "Huidige stap: "),
        ("en", "Course of the trajectory", "Steps in order: ", "Current step: "),
    ],
)
def test_the_page_language_comes_through(app, lang, title, steps, current):
    with app.test_request_context():
        session["lang"] = lang
        root = ET.fromstring(str(diagrams.trajectory_diagram(TrajectoryState.RECOVERY)))
        state_names = [str(i18n.STATE_LABELS[state]) for state in TrajectoryState]
        recovery = str(i18n.STATE_LABELS[TrajectoryState.RECOVERY])
        relapse = str(i18n.TRIGGER_LABELS["relapse"])
    assert root.find(f"{SVG}title").text == title
    assert float(root.get("viewBox").split()[2]) <= 480
    desc = root.find(f"{SVG}desc").text
    assert desc.startswith(steps + ", ".join(state_names) + ".")
    assert f"{current}{recovery}." in desc
    marked = next(g for g in root.iter() if g.get("aria-current"))
    assert _text_of(marked) == f"\u25b6 {recovery}"
    assert relapse in {_text_of(g) for g in _groups(root, "edge")}


def test_every_state_trigger_and_phase_has_a_label(app):
    with app.test_request_context():
        states, triggers, phases = (
            diagrams.state_labels(),
            diagrams.trigger_labels(),
            diagrams.phase_labels(),
        )
    assert set(states) == set(trajectory.MACHINE.states)
    assert set(triggers) == set(trajectory.MACHINE.triggers)
    assert set(phases) == {phase.value for phase in STATE_PHASE.values()}
    assert all(states.values()) and all(triggers.values()) and all(phases.values())
