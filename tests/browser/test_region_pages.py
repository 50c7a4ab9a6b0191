"""Issue 14 point 1 in a real browser, in Dutch: a manager moves their region from ``none`` to
``pilot`` (refused first, with the missing building blocks shown before and after submitting,
then accepted after setting blocks 3 and 4), files the half-year report and corrects it, and
the programme's overview shows the change for the half year ("gestegen van 5 naar 6").

Makes the screenshots docs/images/region.png and docs/images/programme-regions.png.
"""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from mda.services import regions as region_service
from mda.services.context import Actor
from mda.services.settings import settings_of, use_settings
from mda.services.users import create_user
from mda.vocabulary import REPORT_INDICATORS, Role
from tests.support.factories import PASSWORD

pytestmark = pytest.mark.browser

DOCS = Path(__file__).parents[2] / "docs" / "images"
REGION = "DRE"  # Drenthe: no other browser test changes its implementation
# Five regions already running a pilot in the last closed half year, and still now.
PILOTS = ("AWF", "AMA", "ARA", "BZO", "FLE")
_names = count(1)

try:
    # axe-core, every control reached by Tab with its focus visible, and 360 px wide.
    from tests.browser.a11y import check_all
except ImportError:  # pragma: no cover - the checks come with tests/browser/a11y.py

    def check_all(page: Any, where: str = "") -> None:
        return None


def _user(live_server: Any, role: Role, regions: tuple[str, ...] = ()) -> str:
    session = live_server.session()
    try:
        name = f"regions-{role.value}-{next(_names)}"
        create_user(session, Actor.system("cli"), name, PASSWORD, role, list(regions))
        return name
    finally:
        session.close()


def _seed_pilots(live_server: Any) -> str:
    """Five regions at pilot since the last closed half year, each with its two reports.

    Returns the current half year. The status changes are made by a clock set inside the last
    closed half year, so its reports (and this half year's) say pilot from the history.
    """
    session = live_server.session()
    try:
        settings = settings_of(session)
        now = settings.now()
        current = region_service.current_period(now)
        closed = region_service.previous_period(current)
        inside = region_service.period_end(region_service.previous_period(closed))
        system = Actor.system("cli")
        use_settings(session, settings.at(inside + timedelta(days=10)))
        for code in PILOTS:
            version = region_service.get_implementation(session, system, code)["version"]
            region_service.update_implementation(
                session,
                system,
                code,
                status="pilot",
                blocks={3: "in_progress", 4: "in_progress"},
                expected_version=version,
            )
        use_settings(session, settings)
        for code in PILOTS:
            for period in (closed, current):
                answers = dict.fromkeys(REPORT_INDICATORS, False)
                region_service.upsert_report(session, system, code, period, now=now, **answers)
        session.commit()
        return current
    finally:
        session.close()


def _sign_in(page: Any, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/auth/login")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()


def _answer(page: Any, question: str, answer: str) -> None:
    page.get_by_role("group", name=question).get_by_label(answer, exact=True).check()


def test_manager_moves_to_pilot_reports_and_the_programme_sees_it(page, live_server):
    current = _seed_pilots(live_server)
    manager = _user(live_server, Role.MANAGER, (REGION,))
    programme = _user(live_server, Role.PROGRAMME)
    page.set_viewport_size({"width": 1100, "height": 900})

    # The manager lands on their region's page.
    _sign_in(page, live_server, manager)
    page.wait_for_url(f"{live_server.url}/regions/{REGION}")
    expect(page.locator("#current-status")).to_have_text("geen")
    # Before submitting, the pilot option already says which building blocks it needs.
    note = page.locator("#status-pilot-note")
    assert "bouwsteen 3" in note.inner_text() and "bouwsteen 4" in note.inner_text()
    check_all(page, "region page")

    # Refused: the unmet conditions are shown.
    page.get_by_label("pilot gaande").check()
    page.get_by_role("button", name="Status wijzigen").click()
    refusal = page.locator("#status-refused")
    expect(refusal).to_be_visible()
    assert "bouwsteen 3" in refusal.inner_text() and "bouwsteen 4" in refusal.inner_text()
    expect(page.locator("#current-status")).to_have_text("geen")
    check_all(page, "region page with a refusal")

    # Blocks 3 and 4 under way, together in one save.
    page.get_by_label("Status van bouwsteen 3").select_option("in_progress")
    page.get_by_label("Status van bouwsteen 4").select_option("in_progress")
    page.get_by_role("button", name="Bouwstenen opslaan").click()
    expect(page.get_by_text("De bouwstenen zijn opgeslagen.")).to_be_visible()
    expect(page.locator("#status-pilot-note")).to_contain_text("Mogelijk")

    # Now the move is accepted, and the history shows it.
    page.get_by_label("pilot gaande").check()
    page.get_by_role("button", name="Status wijzigen").click()
    expect(page.get_by_text("De MDA++-status is nu pilot gaande.")).to_be_visible()
    expect(page.locator("#current-status")).to_have_text("pilot gaande")
    history = page.locator("table.history")
    assert (
        history.get_by_role("row")
        .filter(has_text="MDA++-status")
        .filter(has_text="pilot gaande")
        .count()
        == 1
    )
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / "region.png"), full_page=True)

    # The half-year report (this half year: a draft until it ends).
    page.get_by_role("link", name=f"Rapportage over {current} beginnen (concept)").click()
    page.wait_for_url(re.compile(rf"/regions/{REGION}/reports/{current}$"))
    expect(page.locator("#draft-notice")).to_be_visible()
    expect(page.locator("#report-status")).to_have_text("pilot gaande")
    questions = page.locator("ol.questions legend").all_inner_texts()
    assert len(questions) == 5
    for question in questions:
        _answer(page, question, "Ja")
    check_all(page, "half-year report")
    page.get_by_role("button", name="Concept opslaan").click()
    expect(page.get_by_text(f"De rapportage over {current} is opgeslagen.")).to_be_visible()

    # A correction, saved with the version it was rendered at.
    _answer(page, questions[3], "Nee")
    page.get_by_role("button", name="Correctie opslaan").click()
    expect(
        page.get_by_text(f"De rapportage over {current} is gecorrigeerd (versie 2).")
    ).to_be_visible()

    # The programme's overview for this half year shows the change.
    page.get_by_role("banner").get_by_role("button", name="Uitloggen").click()
    _sign_in(page, live_server, programme)
    page.wait_for_url(re.compile(r"/programme/regions$"))
    page.get_by_label("Halfjaar", exact=True).select_option(current)
    page.get_by_role("button", name="Tonen").click()
    pilot = page.locator("#status-pilot")
    assert "6 van de 28 regio’s" in pilot.inner_text()
    assert "gestegen van 5 naar 6" in pilot.inner_text()
    missing = page.locator("#missing").inner_text()
    assert "Drenthe" not in missing and "Utrecht" in missing
    check_all(page, "programme overview")
    page.screenshot(path=str(DOCS / "programme-regions.png"), full_page=True)

    # And Drenthe's history, as its manager sees it.
    page.get_by_role("table", name=re.compile("van elke regio")).get_by_role(
        "link", name="Drenthe"
    ).click()
    expect(page.locator("#current-status")).to_have_text("pilot gaande")
    assert page.get_by_role("button", name="Status wijzigen").count() == 0
