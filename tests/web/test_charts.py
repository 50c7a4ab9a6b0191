"""The dashboards' server-drawn charts: every label inside the drawing, however long.

The geometry here is reckoned on its own, from the SVG as drawn: a label's width is its
characters x the font size x 0.6, its glyphs reach a font size above the baseline and a
third of one below, and a ``rotate(-a x y)`` turns its box about (x, y). Every text's box,
turned or not, must lie inside the ``viewBox``.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask_babel import force_locale
from markupsafe import Markup

from mda.demo import REGION_POPULATION
from mda.reference import REGIONS
from mda.web import i18n
from mda.web.charts import Series, bar_chart, line_chart, stacked_bar_chart
from tests.conftest import make_test_app

SVG = "{http://www.w3.org/2000/svg}"
FONT = 12.0


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    yield make_test_app()


def _box(text: ET.Element, font: float) -> tuple[float, float, float, float, str]:
    """(left, top, right, bottom, drawn text) of a ``<text>`` element."""
    drawn = "".join(text.itertext()) if text.find(f"{SVG}title") is None else text[0].tail or ""
    width = len(drawn) * font * 0.6
    x, y = float(text.get("x", 0)), float(text.get("y", 0))
    anchor = text.get("text-anchor", "start")
    start = {"start": 0.0, "middle": -width / 2, "end": -width}[anchor]
    corners = [(start, -font), (start + width, -font), (start, font / 3), (start + width, font / 3)]
    angle = 0.0
    transform = text.get("transform")
    if transform:
        found = re.fullmatch(r"rotate\((-?[\d.]+) ([\d.]+) ([\d.]+)\)", transform)
        assert found, transform
        angle = math.radians(float(found.group(1)))
        assert (float(found.group(2)), float(found.group(3))) == (x, y)
    cos, sin = math.cos(angle), math.sin(angle)
    xs = [x + cx * cos - cy * sin for cx, cy in corners]
    ys = [y + cx * sin + cy * cos for cx, cy in corners]
    return min(xs), min(ys), max(xs), max(ys), drawn


def _assert_inside(chart: Markup) -> list[str]:
    """Every text of ``chart`` inside its viewBox; the category labels' full texts."""
    root = ET.fromstring(str(chart))
    _x0, _y0, width, height = (float(v) for v in root.get("viewBox", "").split())
    font = float(root.get("font-size", FONT))
    for text in root.iter(f"{SVG}text"):
        left, top, right, bottom, drawn = _box(text, font)
        assert drawn.strip(), "an empty label"
        assert left >= 0 and right <= width, (drawn, left, right, width)
        assert top >= 0 and bottom <= height, (drawn, top, bottom, height)
    return [
        (t.find(f"{SVG}title").text or "") if t.find(f"{SVG}title") is not None else t.text or ""
        for t in root.iter(f"{SVG}text")
    ]


def _dutch(kind: str) -> list[str]:
    return [text for _value, text in i18n.choices(kind)]


Chart = Callable[..., Markup]
CHARTS = [bar_chart, stacked_bar_chart, line_chart]


@pytest.mark.parametrize("chart", CHARTS, ids=lambda c: c.__name__)
def test_every_region_name_fits_under_the_axis(app: Flask, chart: Chart) -> None:
    names = dict(REGIONS)
    assert set(REGION_POPULATION) <= set(names)  # the demo's regions have real names
    labels = [names[code] for code in sorted(names)]
    svg = chart(
        "chart-regions",
        "Instroom en actieve trajecten per regio",
        "Staafdiagram",
        labels,
        [
            Series("Instroom", [10.0 * (i % 7) for i in range(len(labels))]),
            Series("Actief aan het eind", [None if i % 5 else 12.0 for i in range(len(labels))]),
        ],
        x_label="Regio",
        y_label="Trajecten",
    )
    drawn = _assert_inside(svg)
    for name in labels:
        assert name in drawn  # none shortened: the longest region name fits whole


@pytest.mark.parametrize("chart", CHARTS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("kind", ["closure_reason", "state", "referral_source", "violence_level"])
def test_the_longest_dutch_labels_fit(app: Flask, chart: Chart, kind: str) -> None:
    with app.test_request_context(), force_locale("nl"):
        labels = _dutch(kind)
        levels = _dutch("violence_level")
    assert "Het huishouden heeft zich teruggetrokken" in labels or kind != "closure_reason"
    svg = chart(
        "chart-x",
        "Titel",
        "Beschrijving",
        labels,
        [Series(level, [5.0] * len(labels)) for level in levels],
        x_label="Categorie",
        y_label="Aantal",
    )
    drawn = _assert_inside(svg)
    assert set(labels) <= set(drawn)  # a shortened label keeps its full text in a <title>


def test_a_label_too_long_is_shortened_with_its_full_text_in_a_title(app: Flask) -> None:
    long = "Een heel erg lange omschrijving van een categorie die nergens past"
    svg = bar_chart(
        "c", "T", "D", [long, "Kort"], [Series("S", [1.0, 2.0])], x_label="X", y_label="Y"
    )
    _assert_inside(svg)
    assert f"<title>{long}</title>" in svg
    assert "…</text>" in svg


def test_short_labels_stay_level(app: Flask) -> None:
    svg = bar_chart(
        "c", "T", "D", ["1", "2", "3"], [Series("S", [1.0, 2.0, 3.0])], x_label="X", y_label="Y"
    )
    _assert_inside(svg)
    assert "rotate(-45" not in svg and "rotate(-90 " not in svg.split("</text>", 6)[-1]


def test_many_series_wrap_the_legend_inside_the_drawing(app: Flask) -> None:
    series = [Series(f"Een reeks met een lange naam nummer {i}", [float(i)]) for i in range(6)]
    svg = stacked_bar_chart("c", "T", "D", ["Een"], series, x_label="X", y_label="Y")
    _assert_inside(svg)
