"""Regional implementation pages: the manager's region page and half-year report, and the
programme's overview of the 28 regions (issue 14), through the real services."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from mda.extensions import db
from mda.models import HalfYearReport, Region, RegionStatusChange
from mda.services.settings import Settings
from mda.vocabulary import MdaStatus, Role
from tests.support import factories
from tests.web.conftest import sign_in

# Moments inside three half years (the clock of the services is set by the test).
IN_2025_H2 = datetime(2025, 11, 3, 10, tzinfo=UTC)
IN_2026_H1 = datetime(2026, 3, 2, 10, tzinfo=UTC)
IN_2026_H2 = datetime(2026, 8, 3, 10, tzinfo=UTC)

ANSWERS = {
    "vision_in_regional_plan": "yes",
    "professionals_trained": "yes",
    "working_by_vision": "no",
    "vision_in_procurement": "no",
    "local_teams_quality_framework_steps": "yes",
}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The services' clock, moved by the test: ``clock[0] = ...``."""
    moment = [IN_2026_H1]
    monkeypatch.setattr(Settings, "now", lambda self: moment[0])
    return moment


def _client(app: Any, user: Any, lang: str = "en") -> Any:
    client = app.test_client()
    assert sign_in(client, user.username).status_code == 302
    client.post("/language", data={"lang": lang, "next": "/"})
    return client


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _plain(response: Any) -> str:
    """The page's text without tags, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", _text(response)))


def _region() -> Region:
    db.session.expire_all()
    region = db.session.get(Region, "UTR")
    assert region is not None
    return region


def _report(period: str) -> HalfYearReport | None:
    db.session.expire_all()
    return db.session.scalar(
        select(HalfYearReport).where(
            HalfYearReport.region_code == "UTR", HalfYearReport.period == period
        )
    )


def _flash(client: Any, url: str) -> str:
    return _plain(client.get(url))


def _blocks(status: dict[int, str]) -> dict[str, str]:
    data = {}
    for index, number in enumerate(range(1, 6)):
        data[f"blocks-{index}-block"] = str(number)
        data[f"blocks-{index}-status"] = status.get(number, "not_started")
    return data


# --- the whole path of issue 14 point 1 ------------------------------------------------------


def test_manager_moves_to_pilot_files_and_corrects_the_report_and_the_programme_sees_it(
    app, session, clock
):
    manager = factories.user(session, Role.MANAGER, ["UTR"])
    programme = factories.user(session, Role.PROGRAMME)
    client = _client(app, manager)

    # A manager with one region lands on its page.
    start = client.get("/")
    assert start.status_code == 302 and start.headers["Location"].endswith("/regions/UTR")

    # 2025-H2: a first report (a draft while the half year runs), status none.
    clock[0] = IN_2025_H2
    page = client.get("/regions/UTR/reports/2025-H2")
    assert page.status_code == 200
    assert 'id="draft-notice"' in _text(page)
    saved = client.post("/regions/UTR/reports/2025-H2", data={**ANSWERS, "version": ""})
    assert saved.status_code == 302
    assert _report("2025-H2").mda_status is MdaStatus.NONE

    # 2026-H1: pilot is refused while blocks 3 and 4 have not started; the page says so first.
    clock[0] = IN_2026_H1
    page = _plain(client.get("/regions/UTR"))
    pilot_note = page.split("pilot under way", 1)[1].split("structurally in place", 1)[0]
    assert "building block 3" in pilot_note and "building block 4" in pilot_note
    refused = client.post("/regions/UTR/status", data={"status": "pilot", "version": "1"})
    assert refused.status_code == 422
    text = _plain(refused)
    assert "cannot be changed to pilot under way" in text
    refusal = _text(refused).split('id="status-refused"', 1)[1].split("</div>", 1)[0]
    assert "building block 3" in refusal and "building block 4" in refusal
    assert _region().mda_status is MdaStatus.NONE and _region().version == 1

    # Blocks 3 and 4 set together (the others unchanged), then the move is accepted.
    done = client.post(
        "/regions/UTR/blocks",
        data={**_blocks({3: "in_progress", 4: "in_progress"}), "version": "1"},
    )
    assert done.status_code == 302
    assert {b.block: b.status.value for b in _region().building_blocks}[3] == "in_progress"
    moved = client.post("/regions/UTR/status", data={"status": "pilot", "version": "2"})
    assert moved.status_code == 302
    assert _region().mda_status is MdaStatus.PILOT
    page = _plain(client.get("/regions/UTR"))
    assert "The MDA++ status is now pilot under way." in page
    assert re.search(r"MDA\+\+ status none pilot under way", page), "the history shows the move"
    assert manager.username in page

    # 2026-H2: the report for 2026-H1 takes pilot from the history, last period's answers beside.
    clock[0] = IN_2026_H2
    page = client.get("/regions/UTR/reports/2026-H1")
    text = _plain(page)
    assert 'id="draft-notice"' not in _text(page)
    assert re.search(r'id="report-status">pilot under way<', _text(page))
    assert "Last half year (2025-H2): yes" in text and "(2025-H2): no" in text
    saved = client.post("/regions/UTR/reports/2026-H1", data={**ANSWERS, "version": ""})
    assert saved.status_code == 302
    report = _report("2026-H1")
    assert report is not None and report.mda_status is MdaStatus.PILOT and report.version == 1
    assert "The report for 2026-H1 is saved." in _flash(client, "/regions/UTR/reports/2026-H1")

    # A correction: saved with the version it was rendered at; the page says it was corrected.
    corrected = client.post(
        "/regions/UTR/reports/2026-H1",
        data={**ANSWERS, "vision_in_procurement": "yes", "version": "1"},
    )
    assert corrected.status_code == 302
    report = _report("2026-H1")
    assert report is not None and report.version == 2 and report.vision_in_procurement is True
    text = _flash(client, "/regions/UTR/reports/2026-H1")
    assert "corrected (version 2)" in text
    # Both versions stay on the page: the report as first submitted and the correction.
    versions = _text(client.get("/regions/UTR/reports/2026-H1")).split('id="versions"', 1)[1]
    rows = versions.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("</tr>")[:-1]
    assert len(rows) == 2
    assert ">1</th>" in rows[0] and ">2</th>" in rows[1]
    # The answers differ only in the corrected question.
    assert rows[0].count(">yes<") + 1 == rows[1].count(">yes<")

    # The programme's overview for the last closed half year shows the change.
    overview = _client(app, programme)
    assert overview.get("/").headers["Location"].endswith("/programme/regions")
    page = overview.get("/programme/regions")
    assert page.status_code == 200
    text = _text(page)
    pilot_row = text.split('id="status-pilot"', 1)[1].split("</tr>", 1)[0]
    assert "1 of 28 regions" in pilot_row and "up from 0 to 1" in pilot_row
    none_row = text.split('id="status-none"', 1)[1].split("</tr>", 1)[0]
    assert "0 of 28 regions" in none_row and "down from 1 to 0" in none_row
    procurement = text.split('id="indicator-vision_in_procurement"', 1)[1].split("</tr>", 1)[0]
    assert "up from 0 to 1" in procurement
    missing = text.split('id="missing"', 1)[1].split("</section>", 1)[0]
    assert "Utrecht" not in missing and "Drenthe" in missing
    assert "27 regions have not reported" in _plain(page)
    assert "Utrecht" in text.split('id="regions-title"', 1)[1]
    # And the region's own history, as the manager sees it.
    page = overview.get("/programme/regions/UTR")
    assert page.status_code == 200
    assert re.search(r"MDA\+\+ status none pilot under way", _plain(page))
    assert 'action="/regions/UTR/status"' not in _text(page)


def test_pages_are_dutch_by_default(app, session, clock):
    manager = factories.user(session, Role.MANAGER, ["UTR"])
    client = app.test_client()
    assert sign_in(client, manager.username).status_code == 302
    text = _plain(client.get("/regions/UTR"))
    assert "Bouwstenen" in text and "geen" in text and "pilot gaande" in text
    text = _plain(client.get("/regions/UTR/reports/2026-H1"))
    assert "Halfjaarrapportage" in text and "concept" in text
    programme = factories.user(session, Role.PROGRAMME)
    client = app.test_client()
    assert sign_in(client, programme.username).status_code == 302
    assert "van de 28 regio" in _plain(client.get("/programme/regions"))


# --- the report's status is the history's --------------------------------------------------


def test_the_report_status_cannot_disagree_with_the_status_history(app, session, clock):
    manager = factories.user(session, Role.MANAGER, ["UTR"])
    client = _client(app, manager)
    clock[0] = IN_2026_H2
    page = _text(client.get("/regions/UTR/reports/2026-H1"))
    assert 'name="mda_status"' not in page, "the status is shown, never typed"
    for claimed in ("structural", "pilot", "in_development"):
        refused = client.post(
            "/regions/UTR/reports/2026-H1",
            data={**ANSWERS, "version": "", "mda_status": claimed},
        )
        assert refused.status_code == 422
        assert "status history" in _plain(refused)
        assert _report("2026-H1") is None
    # The status the history gives is accepted (and is what is stored anyway).
    saved = client.post(
        "/regions/UTR/reports/2026-H1", data={**ANSWERS, "version": "", "mda_status": "none"}
    )
    assert saved.status_code == 302
    report = _report("2026-H1")
    assert report is not None and report.mda_status is MdaStatus.NONE


def test_a_report_needs_every_answer_and_a_period_in_range(app, session, clock):
    manager = factories.user(session, Role.MANAGER, ["UTR"])
    client = _client(app, manager)
    partial = dict(ANSWERS)
    del partial["working_by_vision"]
    refused = client.post("/regions/UTR/reports/2026-H1", data={**partial, "version": ""})
    assert refused.status_code == 422
    text = _text(refused)
    assert 'id="working_by_vision-error"' in text and "Answer yes or no." in text
    assert 'value="yes" checked' in text, "the answers given stay on the form"
    assert _report("2026-H1") is None
    for period in ("2026-H2", "2014-H2", "2026-H3", "2026"):
        assert client.get(f"/regions/UTR/reports/{period}").status_code == 404


# --- stale versions -----------------------------------------------------------------------------


def test_stale_versions_are_conflicts_and_nothing_is_applied(app, session, clock):
    manager = factories.user(session, Role.MANAGER, ["UTR"])
    client = _client(app, manager)
    assert client.post("/regions/UTR/status", data={"status": "in_development", "version": "1"})
    assert _region().version == 2
    # Both forms rendered at version 1 are now stale.
    stale = client.post(
        "/regions/UTR/status", data={"status": "none", "reason": "x", "version": "1"}
    )
    assert stale.status_code == 302
    assert "Someone else changed this region in the meantime" in _flash(client, "/regions/UTR")
    stale = client.post(
        "/regions/UTR/blocks", data={"block": "3", "status": "done", "version": "1"}
    )
    assert stale.status_code == 302
    assert "Someone else changed this region" in _flash(client, "/regions/UTR")
    region = _region()
    assert region.mda_status is MdaStatus.IN_DEVELOPMENT and region.version == 2
    assert {b.block: b.status.value for b in region.building_blocks}[3] == "not_started"
    # One block on its own, at the fresh version: accepted.
    one = client.post("/regions/UTR/blocks", data={"block": "3", "status": "done", "version": "2"})
    assert one.status_code == 302
    assert {b.block: b.status.value for b in _region().building_blocks}[3] == "done"

    # A report: created, then two corrections from the same version 1.
    assert client.post("/regions/UTR/reports/2026-H1", data={**ANSWERS, "version": ""})
    first = {**ANSWERS, "working_by_vision": "yes", "version": "1"}
    assert client.post("/regions/UTR/reports/2026-H1", data=first).status_code == 302
    second = {**ANSWERS, "professionals_trained": "no", "version": "1"}
    stale = client.post("/regions/UTR/reports/2026-H1", data=second)
    assert stale.status_code == 302
    page = client.get("/regions/UTR/reports/2026-H1")
    assert "Someone else saved this report in the meantime" in _plain(page)
    assert 'name="version" value="2"' in _text(page), "the fresh form"
    report = _report("2026-H1")
    assert report is not None and report.version == 2
    assert report.working_by_vision is True and report.professionals_trained is True
    # Creating it again (no version) while it exists is the same conflict.
    again = client.post("/regions/UTR/reports/2026-H1", data={**ANSWERS, "version": ""})
    assert again.status_code == 302
    assert "Someone else saved this report" in _flash(client, "/regions/UTR/reports/2026-H1")


def test_lowering_the_status_asks_for_a_reason(app, session, clock):
    manager = factories.user(session, Role.MANAGER, ["UTR"])
    client = _client(app, manager)
    client.post("/regions/UTR/status", data={"status": "in_development", "version": "1"})
    page = _plain(client.get("/regions/UTR"))
    assert "Lowering the status: give a reason below." in page
    refused = client.post("/regions/UTR/status", data={"status": "none", "version": "2"})
    assert refused.status_code == 422
    assert "needs a reason" in _plain(refused)
    assert _region().mda_status is MdaStatus.IN_DEVELOPMENT
    lowered = client.post(
        "/regions/UTR/status",
        data={"status": "none", "reason": "The pilot funding ended", "version": "2"},
    )
    assert lowered.status_code == 302
    assert "The pilot funding ended" in _flash(client, "/regions/UTR")
    change = db.session.scalar(
        select(RegionStatusChange).order_by(RegionStatusChange.id.desc()).limit(1)
    )
    assert change is not None and change.reason == "The pilot funding ended"


# --- authorisation ----------------------------------------------------------------------------

PAGES = [
    ("GET", "/regions", None),
    ("GET", "/regions/UTR", None),
    ("POST", "/regions/UTR/status", {"status": "in_development", "version": "1"}),
    ("POST", "/regions/UTR/blocks", {"block": "3", "status": "in_progress", "version": "1"}),
    ("GET", "/regions/UTR/reports/2026-H1", None),
    ("POST", "/regions/UTR/reports/2026-H1", {**ANSWERS, "version": ""}),
    ("GET", "/programme/regions", None),
    ("GET", "/programme/regions/UTR", None),
]


@pytest.mark.parametrize(
    "who",
    ["manager_elsewhere", "coordinator", "auditor", "programme", "admin"],
)
def test_others_are_refused_on_every_page_and_every_post(app, session, clock, who):
    role, regions = {
        "manager_elsewhere": (Role.MANAGER, ["AMA"]),
        "coordinator": (Role.COORDINATOR, ["UTR"]),
        "auditor": (Role.AUDITOR, []),
        "programme": (Role.PROGRAMME, []),
        "admin": (Role.ADMIN, []),
    }[who]
    user = factories.user(session, role, regions)
    client = _client(app, user)
    allowed = {
        # A manager of another region sees their own list, never UTR.
        "manager_elsewhere": {("GET", "/regions")},
        "coordinator": set(),
        "auditor": set(),
        # The programme reads the overview; the manager's pages are not theirs.
        "programme": {("GET", "/programme/regions"), ("GET", "/programme/regions/UTR")},
        # Admins read every page, and change nothing.
        "admin": {(m, u) for m, u, _ in PAGES if m == "GET"},
    }[who]
    wrong = []
    for method, url, data in PAGES:
        response = client.open(url, method=method, data=data or {})
        expected = 200 if (method, url) in allowed else 403
        if response.status_code != expected:
            wrong.append(f"{method} {url}: {response.status_code}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    region = _region()
    assert region.version == 1 and region.mda_status is MdaStatus.NONE
    assert _report("2026-H1") is None
    if who == "manager_elsewhere":
        assert "Utrecht" not in _text(client.get("/regions"))


def test_admin_reads_without_forms(app, session, clock):
    admin = factories.user(session, Role.ADMIN)
    client = _client(app, admin)
    page = _text(client.get("/regions/UTR"))
    assert 'action="/regions/UTR/status"' not in page and "<select" not in page
    page = _text(client.get("/regions/UTR/reports/2026-H1"))
    assert '<form method="post" action="/regions/UTR/reports' not in page


def test_a_manager_of_several_regions_starts_at_their_list(app, session, clock):
    manager = factories.user(session, Role.MANAGER, ["UTR", "AMA"])
    client = _client(app, manager)
    start = client.get("/")
    assert start.status_code == 302 and start.headers["Location"].endswith("/regions")
    page = _text(client.get("/regions"))
    assert "Utrecht" in page and "Amsterdam-Amstelland" in page and "Drenthe" not in page
    assert client.get("/regions/AMA").status_code == 200
    assert client.get("/regions/DRE").status_code == 403
