"""The dashboards (issue 12) in a real browser, in Dutch: a manager's own region in exact
figures and the programme's released figures, with a dash for a figure not published. Both
pages pass axe-core and fit a phone's width.

Makes the screenshots docs/images/dashboard-region.png and docs/images/dashboard-programme.png
(the regions' chart with their long Dutch names turned under the axis, none cut off), and
downloads the release from the programme's page: the CSV in Dutch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from mda.stats.disclosure import TOTAL
from mda.vocabulary import Role
from tests.browser.a11y import check_narrow, check_page
from tests.browser.helpers import drive, person, registered, sign_in
from tests.support.releases import stored

pytestmark = pytest.mark.browser

DOCS = Path(__file__).parents[2] / "docs" / "images"
REGION = "TWE"  # Twente: no other browser test puts trajectories there
PERIOD = "2026-10"
CLIP = {"x": 0, "y": 0, "width": 1280, "height": 1800}


def _seed_trajectories(live_server: Any) -> None:
    """Five trajectories in the region: three just referred, one screening, one further on."""
    coordinator = person(live_server, Role.COORDINATOR, (REGION,))
    ids = [
        registered(live_server, coordinator, region=REGION, days_ago=days)
        for days in (40, 20, 10, 5, 1)
    ]
    drive(live_server, coordinator, ids[0], "risk_care")
    drive(live_server, coordinator, ids[1], "screening")


def _seed_release(live_server: Any) -> None:
    """A stored release of one closed month, built by hand (tests.support.releases):
    a few published cells, one suppressed (``None``), 0 elsewhere."""
    # With the longest region names: Noord- en Oost-Gelderland, Noord- en Midden-Limburg...
    regions = ["AWF", "GRO", "KNH", "NML", "NOG", REGION, "UTR", "ZEE"]
    values: dict[str, dict[Any, Any]] = {
        "inflow_by_source": {
            ("AWF", TOTAL): 25,
            ("GRO", TOTAL): None,
            ("KNH", TOTAL): 10,
            ("NML", TOTAL): 20,
            ("NOG", TOTAL): 30,
            (REGION, TOTAL): 15,
            ("UTR", TOTAL): 35,
            ("ZEE", TOTAL): 10,
            (TOTAL, TOTAL): 150,
        },
        "active_by_state": {
            ("AWF", TOTAL): 60,
            ("GRO", TOTAL): 20,
            ("KNH", TOTAL): 25,
            ("NML", TOTAL): 55,
            ("NOG", TOTAL): 80,
            (REGION, TOTAL): 45,
            ("UTR", TOTAL): 120,
            ("ZEE", TOTAL): 30,
            (TOTAL, TOTAL): 435,
        },
        "outcome_by_measurement": {
            (TOTAL, "1", "none"): 20,
            (TOTAL, "1", "severe"): None,
            (TOTAL, "1", TOTAL): 45,
        },
    }
    session = live_server.session()
    try:
        stored(session, PERIOD, 1, regions, values, datetime.now(UTC))
        session.commit()
    finally:
        session.close()


def _charts_visible(page: Any) -> int:
    """Every chart is an image with a title; returns how many there are."""
    charts = page.locator("svg[role=img]")
    count = charts.count()
    assert count >= 1
    for i in range(count):
        chart = charts.nth(i)
        expect(chart).to_be_visible()
        title = chart.locator(":scope > title").text_content().strip()
        assert title
        # The title names the image (aria-labelledby), so the role query finds it.
        expect(page.get_by_role("img", name=title).first).to_be_visible()
    return count


def _screenshot(page: Any, name: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(DOCS / name), full_page=True, clip=CLIP)


def test_the_region_dashboard(page, live_server):
    _seed_trajectories(live_server)
    manager = person(live_server, Role.MANAGER, (REGION,))
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, manager, "nl")
    page.goto(f"{live_server.url}/dashboard/region/{REGION}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert _charts_visible(page) == 3
    expect(page.get_by_text("Instroom").first).to_be_visible()
    check_page(page, "region dashboard")
    _screenshot(page, "dashboard-region.png")
    check_narrow(page)


def test_the_programme_dashboard(page, live_server):
    _seed_release(live_server)
    programme = person(live_server, Role.PROGRAMME)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, programme, "nl")
    page.goto(f"{live_server.url}/dashboard/programme")
    expect(page.locator("#suppressed-note")).to_be_visible()
    assert _charts_visible(page) >= 1
    dashes = page.locator("main abbr", has_text="—")
    assert dashes.count() >= 2
    expect(dashes.first).to_be_visible()
    check_page(page, "programme dashboard")
    _screenshot(page, "dashboard-programme.png")
    check_narrow(page)
    # The release in the page's language: the Dutch CSV.
    page.set_viewport_size({"width": 1280, "height": 900})
    with page.expect_download() as started:
        page.get_by_role("link", name="CSV-bestand (één regel per cijfer)").click()
    download = started.value
    assert download.suggested_filename == f"mda-statistics-{PERIOD}-v1-nl.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.startswith("Periode,Versie,Tabel,Regio,Dimensie 1,Categorie 1")
    assert ",GRO,Verwijzer,Totaal,,,,,,onderdrukt" in text
