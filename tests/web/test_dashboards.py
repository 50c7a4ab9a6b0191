"""Dashboards (issue 12): a manager's own region in exact figures, the programme's released
figures, and the server-drawn SVG charts with a table beside each."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from mda.models import StatsRelease
from mda.services.settings import Settings
from mda.stats import releases
from mda.stats.disclosure import TOTAL
from mda.vocabulary import Role, TrajectoryState
from tests.services.steps import drive
from tests.support import factories
from tests.support.releases import stored as stored_release
from tests.web.conftest import sign_in

NOW = datetime(2026, 11, 18, 10, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Settings, "now", lambda self: NOW)


def _client(app: Any, user: Any, lang: str = "en") -> Any:
    client = app.test_client()
    assert sign_in(client, user.username).status_code == 302
    client.post("/language", data={"lang": lang, "next": "/"})
    return client


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _table(page: str, caption: str) -> str:
    """The ``<table>`` whose caption starts with ``caption``."""
    for table in re.findall(r"<table>.*?</table>", page, re.S):
        found = re.search(r"<caption>(.*?)</caption>", table, re.S)
        if found and found.group(1).strip().startswith(caption):
            return table
    raise AssertionError(f"no table {caption!r}")


def _row(table: str, header: str) -> list[str]:
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        ]
        if cells and cells[0] == header:
            return cells
    raise AssertionError(f"no row {header!r}")


def _assert_charts_accessible(page: str, count: int) -> None:
    charts = re.findall(r"<svg\b.*?</svg>", page, re.S)
    assert len(charts) == count
    for chart in charts:
        assert 'role="img"' in chart
        assert re.search(r"<title id=\"[^\"]+\">[^<]+</title>", chart)
        assert re.search(r"<desc id=\"[^\"]+\">[^<]+</desc>", chart)
        assert "style" not in chart and "<script" not in chart
    # A table beside every chart: each chart-pair holds an SVG and a table with a caption.
    pairs = re.findall(r'<div class="chart-pair[^"]*">(.*?)</table>', page, re.S)
    assert len(pairs) == count
    for pair in pairs:
        assert "<svg" in pair and "<caption>" in pair and 'scope="col"' in pair
        assert 'scope="row"' in pair


def test_the_manager_sees_their_regions_exact_figures(app, session, clock):
    manager = factories.user(session, Role.MANAGER)
    coordinator = factories.user(session, Role.COORDINATOR)
    act = factories.actor(coordinator)
    for _ in range(3):
        factories.trajectory(session, coordinator)
    screening = factories.trajectory(session, coordinator)
    drive(session, act, screening, TrajectoryState.SCREENING)
    # Another region's trajectory is not counted.
    factories.trajectory(session, factories.user(session, Role.COORDINATOR, ["GRO"]), region="GRO")

    client = _client(app, manager)
    response = client.get("/dashboard/region/UTR")
    assert response.status_code == 200
    page = _text(response)
    flows = _table(page, "Inflow and outflow per month")
    assert _row(flows, "Nov 2026") == ["Nov 2026", "4", "0"]
    assert _row(flows, "Total")[1:] == ["4", "0"]
    states = _table(page, "Trajectories per state now")
    assert _row(states, "Referred")[2] == "3"
    assert _row(states, "Screening of the MDA++ criteria")[2] == "1"
    assert _row(states, "Total")[2] == "4"
    phases = _table(page, "Trajectories per phase now")
    assert _row(phases, "Intake")[1] == "4"
    # The intake phase has not been left: no lead time yet.
    assert "No trajectory has left a phase" in page
    assert "Overdue deadlines now" in page
    # Counts only: no pseudonym, no reference, no link to a trajectory.
    assert "VT-" not in page and "/trajectories/" not in page
    _assert_charts_accessible(page, 3)
    # The nav leads there; the Dutch page is Dutch.
    assert 'href="/dashboard/region/UTR"' in page
    dutch = _text(_client(app, manager, "nl").get("/dashboard/region/UTR"))
    assert "Instroom" in dutch and "Trajecten per fase nu" in dutch


@pytest.mark.parametrize(
    ("role", "regions"),
    [
        (Role.MANAGER, ["GRO"]),
        (Role.COORDINATOR, ["UTR"]),
        (Role.ADMIN, []),
        (Role.AUDITOR, []),
        (Role.PROGRAMME, []),
    ],
)
def test_only_the_regions_managers_see_its_dashboard(app, session, clock, role, regions):
    user = factories.user(session, role, regions)
    assert _client(app, user).get("/dashboard/region/UTR").status_code == 403


@pytest.mark.parametrize("role", [Role.MANAGER, Role.COORDINATOR, Role.ADMIN, Role.AUDITOR])
def test_only_the_programme_sees_the_released_figures(app, session, role):
    user = factories.user(session, role)
    assert _client(app, user).get("/dashboard/programme").status_code == 403


def _release(
    session: Any, period: str, version: int, values: dict[str, dict[Any, Any]]
) -> StatsRelease:
    """A stored release with the given published cells (0 elsewhere)."""
    return stored_release(session, period, version, ["GRO", "UTR"], values, NOW)


def test_the_programme_sees_the_latest_release_with_suppressed_cells_as_a_dash(app, session):
    inflow = {
        ("UTR", TOTAL): 35,
        ("GRO", TOTAL): None,
        (TOTAL, TOTAL): 40,
    }
    _release(session, "2026-10", 1, {"inflow_by_source": {("UTR", TOTAL): 999}})
    _release(
        session,
        "2026-10",
        2,
        {
            "inflow_by_source": inflow,
            "active_by_state": {("UTR", TOTAL): 120, (TOTAL, TOTAL): 250},
            "outcome_by_measurement": {
                (TOTAL, "1", "none"): 20,
                (TOTAL, "1", "severe"): None,
                (TOTAL, "1", TOTAL): 45,
            },
        },
    )
    programme = factories.user(session, Role.PROGRAMME)
    client = _client(app, programme)
    response = client.get("/dashboard/programme")
    assert response.status_code == 200
    page = _text(response)
    regions = _table(page, "Inflow and active trajectories per region")
    utr = _row(regions, next(n for n in re.findall(r">([^<>]*\(UTR\))<", regions)))
    assert utr[1:] == ["35", "120"]
    gro = _row(regions, next(n for n in re.findall(r">([^<>]*\(GRO\))<", regions)))
    assert gro[1].startswith("—") and "not published" in gro[1]
    assert _row(regions, "National")[1:] == ["40", "250"]
    # Only the latest version of the period: the first version's figure is not shown.
    assert "999" not in page
    outcome = _table(page, "Households by violence level per measurement")
    first = _row(outcome, "Measurement 1")
    assert first[1] == "20" and first[-2].startswith("—") and first[-1] == "45"
    assert "A dash (—) is a figure that was not published" in page
    _assert_charts_accessible(page, 2)
    assert 'href="/dashboard/programme"' in page


def test_the_programme_page_without_a_release(app, session):
    programme = factories.user(session, Role.PROGRAMME)
    page = _text(_client(app, programme).get("/dashboard/programme"))
    assert "No statistics have been released yet" in page


def test_the_programme_downloads_the_release_in_the_pages_language(app, session):
    release = _release(
        session,
        "2026-10",
        1,
        {"inflow_by_source": {("UTR", TOTAL): 35, ("GRO", TOTAL): None, (TOTAL, TOTAL): 40}},
    )
    programme = factories.user(session, Role.PROGRAMME)
    dutch = _client(app, programme, "nl")
    page = _text(dutch.get("/dashboard/programme"))
    assert "De vrijgave downloaden" in page
    tables = _table(page, "De tabellen van de vrijgave")
    assert _row(tables, "Instroom naar verwijzer")[1] == "inflow_by_source"
    assert _row(tables, "Actieve trajecten per stap aan het eind van de periode")
    csv_url = f"/dashboard/programme/releases/{release.id}.csv"
    assert f'href="{csv_url}"' in page
    assert f'href="/dashboard/programme/releases/{release.id}.xlsx"' in page

    response = dutch.get(csv_url)
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "nl"
    assert response.headers["Digest"] == f"sha-256={releases.sha256(response.data)}"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("Periode,Versie,Tabel,Regio,Dimensie 1,Categorie 1")
    assert any(",GRO,Verwijzer,Totaal,,,,,,onderdrukt" in line for line in lines)
    # Kept: the next download is the same file, whatever the request says.
    assert dutch.get(csv_url, headers={"Accept-Language": "en"}).data == response.data

    english = _client(app, programme, "en")
    page = _text(english.get("/dashboard/programme"))
    assert "Download the release" in page
    assert _row(_table(page, "The tables of the release"), "Inflow by referral source")
    response = english.get(csv_url)
    assert response.headers["Content-Language"] == "en"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0].startswith("Period,Version,Table,Region,Dimension 1,Category 1")
    assert any(",GRO,Referral source,Total,,,,,,suppressed" in line for line in lines)
    book = english.get(f"/dashboard/programme/releases/{release.id}.xlsx")
    assert book.status_code == 200 and book.data.startswith(b"PK")
    assert english.get(f"/dashboard/programme/releases/{release.id}.pdf").status_code == 404
