"""The coordinator's pages: worklist, registration, look-up, the trajectory page and every
change route, in Dutch, through the services (so every read, search and change is logged)."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import select

from mda.extensions import db
from mda.models import AccessLogEntry, Deadline, Trajectory
from mda.services.clock import today_nl
from mda.services.trajectories import register_referral
from mda.vocabulary import AccessAction, DeadlineKind, DeadlineStatus, Role, TrajectoryState
from tests.support import factories
from tests.web.conftest import sign_in

CONFLICT = "Iemand anders heeft dit traject intussen gewijzigd"


# --- helpers --------------------------------------------------------------------------------


def _client(app: Any, user: Any) -> Any:
    client = app.test_client()
    assert sign_in(client, user.username).status_code == 302
    return client


def _register(session: Any, coordinator: Any, reference: str, **kwargs: Any) -> Trajectory:
    """A trajectory through the real service (``referred_on`` and other fields may be given)."""
    data: dict[str, Any] = {
        "region": "UTR",
        "reference": reference,
        "referral_source": "veilig_thuis",
        "violence_types": ["partner_violence"],
        "children": "2",
        "coordinator_id": coordinator.id,
        "keys": factories.pseudonym_keys(),
    } | kwargs
    trajectory, _created = register_referral(session, factories.actor(coordinator), **data)
    return trajectory


def _fresh(trajectory_id: int) -> Trajectory:
    db.session.expire_all()
    found = db.session.get(Trajectory, trajectory_id)
    assert found is not None
    return found


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _flashes(client: Any, url: str) -> str:
    """The page the redirect leads to (the flash messages are shown on it)."""
    return _text(client.get(url))


def check_accessible(html: str) -> None:
    """Ids are unique, every ``aria-describedby`` points at something, every field has a label."""
    ids = re.findall(r'\sid="([^"]+)"', html)
    doubled = {i for i in ids if ids.count(i) > 1}
    assert not doubled, f"ids used twice: {sorted(doubled)}"
    for refs in re.findall(r'aria-describedby="([^"]+)"', html):
        for ref in refs.split():
            assert ref in ids, f"aria-describedby names a missing id {ref!r}"
    for target in re.findall(r'href="#([^"]+)"', html):
        assert target in ids, f"a link to a missing id {target!r}"
    labelled = set(re.findall(r'<label[^>]*\sfor="([^"]+)"', html))
    for tag in re.finditer(r"<(input|select|textarea)\b([^>]*)>", html):
        attrs = tag.group(2)
        if re.search(r'type="(hidden|submit)"', attrs):
            continue
        found = re.search(r'\sid="([^"]+)"', attrs)
        wrapped = html.rfind("<label", 0, tag.start()) > html.rfind("</label>", 0, tag.start())
        assert wrapped or (found and found.group(1) in labelled), f"field without label: {attrs}"
    levels = [int(h) for h in re.findall(r"<h([1-6])\b", html)]
    assert levels and levels[0] == 1
    assert all(b - a <= 1 for a, b in pairwise(levels)), levels


class Page:
    """One coordinator working on one trajectory through the pages: every change posts the
    version of the page it was made on."""

    def __init__(self, client: Any, trajectory_id: int) -> None:
        self.client = client
        self.id = trajectory_id
        self.url = f"/trajectories/{trajectory_id}"
        self.html = ""
        self.version = 0
        self.reload()

    def reload(self) -> str:
        response = self.client.get(self.url)
        assert response.status_code == 200
        self.html = _text(response)
        check_accessible(self.html)
        self.version = int(re.search(r'name="version" value="(\d+)"', self.html).group(1))
        return self.html

    def post(self, path: str, data: dict[str, Any], status: int = 302) -> Any:
        response = self.client.post(f"{self.url}{path}", data={"version": self.version, **data})
        assert response.status_code == status, _text(response)[:3000]
        if status == 302:
            self.reload()
        return response

    def fire(self, trigger: str, **data: Any) -> None:
        before = self.version
        self.post("/trigger", {"trigger": trigger, **data})
        assert self.version == before + 1, f"{trigger} was not applied:\n{self.flash()}"

    def tick(self, *items: str, done: str = "true") -> None:
        for item in items:
            before = self.version
            self.post("/checklist", {"item": item, "done": done, "details": ""})
            assert self.version == before + 1, f"{item}: {self.flash()}"

    def flash(self) -> str:
        return " | ".join(re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', self.html, re.S))

    def state(self) -> TrajectoryState:
        return _fresh(self.id).state


@pytest.fixture
def coordinator(session: Any) -> Any:
    return factories.user(session, Role.COORDINATOR, ["UTR"])


@pytest.fixture
def client(app: Any, coordinator: Any) -> Any:
    return _client(app, coordinator)


# --- registration ---------------------------------------------------------------------------

REGISTRATION = {
    "region": "UTR",
    "referral_source": "police",
    "violence_types": ["partner_violence", "child_abuse"],
    "children": "2",
}


def test_start_page_of_a_coordinator_is_the_worklist(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/trajectories/")
    page = _text(client.get("/trajectories/"))
    assert "Werklijst" in page and 'href="/trajectories/"' in page


def test_register_shows_the_form_with_today_as_referral_date(client, session):
    page = _text(client.get("/trajectories/new"))
    check_accessible(page)
    assert f'value="{today_nl().isoformat()}"' in page
    for name in ("region", "reference", "referral_source", "violence_types", "children"):
        assert f'name="{name}"' in page
    assert "<legend>Soorten geweld</legend>" in page
    assert "Politie" in page and "Kindermishandeling" in page


def test_register_then_a_known_reference_shows_the_existing_trajectory(client, session):
    reference = "VT-2026-REG-0001"
    data = {**REGISTRATION, "reference": reference, "referred_on": today_nl().isoformat()}
    response = client.post("/trajectories/new", data=data)
    assert response.status_code == 302
    location = response.headers["Location"]
    match = re.fullmatch(r"/trajectories/(\d+)", location)
    assert match, location
    trajectory = _fresh(int(match.group(1)))
    assert trajectory.state is TrajectoryState.REFERRED
    page = _flashes(client, location)
    assert "is geregistreerd als" in page and trajectory.pseudonym in page
    assert reference not in page

    again = client.post("/trajectories/new", data=data)
    assert again.status_code == 302
    assert again.headers["Location"] == location  # the existing one, no duplicate
    page = _flashes(client, location)
    assert "al geregistreerd" in page
    count = db.session.scalar(select(Trajectory.id).where(Trajectory.id > trajectory.id))
    assert count is None
    # The reference is nowhere: not in a URL, not in the access log.
    assert reference not in location
    for entry in db.session.scalars(select(AccessLogEntry)):
        assert reference not in repr(entry.details) and reference not in (entry.object_id or "")


def test_registration_in_the_past_counts_from_the_referral_date(client, session):
    referred = today_nl() - timedelta(days=40)
    data = {**REGISTRATION, "reference": "VT-LATE-1", "referred_on": referred.isoformat()}
    response = client.post("/trajectories/new", data=data)
    trajectory = _fresh(int(response.headers["Location"].rsplit("/", 1)[1]))
    assert trajectory.referred_on == referred
    page = _text(client.get(f"/trajectories/{trajectory.id}"))
    assert "werkdagen te laat" in page
    assert referred.strftime("%d-%m-%Y") in page


def test_a_future_referral_date_is_refused_next_to_the_field(client, session):
    tomorrow = today_nl() + timedelta(days=1)
    data = {**REGISTRATION, "reference": "VT-FUTURE-1", "referred_on": tomorrow.isoformat()}
    response = client.post("/trajectories/new", data=data)
    assert response.status_code == 422
    page = _text(response)
    assert re.search(r'id="referred_on"[^>]*aria-invalid="true"', page) or re.search(
        r'aria-invalid="true"[^>]*id="referred_on"', page
    )
    assert 'id="referred_on-error"' in page
    assert db.session.scalar(select(Trajectory.id)) is None


def test_a_registration_without_violence_types_is_refused_in_the_fieldset(client, session):
    data = {**REGISTRATION, "violence_types": [], "reference": "VT-NOTYPE"}
    response = client.post("/trajectories/new", data={**data, "referred_on": ""})
    assert response.status_code == 422
    page = _text(response)
    check_accessible(page)
    assert 'id="violence_types-error"' in page and 'aria-describedby="violence_types-error"' in page
    assert "Niet alles is goed ingevuld" in page


# --- look-up --------------------------------------------------------------------------------


def test_lookup_by_reference_is_posted_only_and_leaves_no_trace(app, session, coordinator):
    reference = "VT-LOOKUP-77"
    trajectory = _register(session, coordinator, reference)
    other = factories.user(session, Role.COORDINATOR, ["AMA"])
    hidden = _register(session, other, "VT-ELSEWHERE-1", region="AMA")
    client = _client(app, coordinator)

    form = client.get("/trajectories/lookup")
    assert form.status_code == 200 and 'method="post"' in _text(form)
    assert client.get(f"/trajectories/lookup?reference={reference}").status_code == 200

    found = client.post("/trajectories/lookup", data={"reference": reference})
    assert found.status_code == 302
    assert found.headers["Location"] == f"/trajectories/{trajectory.id}"
    assert reference not in found.headers["Location"]

    unknown = client.post("/trajectories/lookup", data={"reference": "VT-NOBODY"})
    elsewhere = client.post("/trajectories/lookup", data={"reference": "VT-ELSEWHERE-1"})
    message = "Geen traject in uw regio’s"
    assert unknown.status_code == elsewhere.status_code == 200
    assert message in _text(unknown).replace("'", "’")
    assert message in _text(elsewhere).replace("'", "’")
    assert hidden.pseudonym not in _text(elsewhere)
    for entry in db.session.scalars(select(AccessLogEntry)):
        details = repr(entry.details)
        assert (
            reference not in details and "VT-ELSEWHERE" not in details and "NOBODY" not in details
        )


# --- worklist -------------------------------------------------------------------------------


def test_worklist_overdue_first_filters_and_only_own_regions(app, session, coordinator):
    recent = _register(session, coordinator, "VT-WL-RECENT")
    late = _register(
        session, coordinator, "VT-WL-LATE", referred_on=today_nl() - timedelta(days=30)
    )
    colleague = factories.user(session, Role.COORDINATOR, ["UTR"])
    theirs = _register(session, colleague, "VT-WL-THEIRS")
    stranger = factories.user(session, Role.COORDINATOR, ["AMA"])
    elsewhere = _register(session, stranger, "VT-WL-AMA", region="AMA")
    client = _client(app, coordinator)

    page = _text(client.get("/trajectories/"))
    check_accessible(page)
    assert "3 open trajecten" in page
    assert elsewhere.pseudonym not in page
    assert page.index(late.pseudonym) < page.index(recent.pseudonym)
    assert "Te laat" in page and "werkdagen te laat" in page
    assert "Toetsing afronden" in page and "Aangemeld" in page
    assert 'name="region"' not in page  # one region: no region filter

    overdue = _text(client.get("/trajectories/?overdue=1"))
    assert late.pseudonym in overdue and recent.pseudonym not in overdue
    assert "1 open traject" in overdue

    mine = _text(client.get("/trajectories/?mine=1"))
    assert theirs.pseudonym not in mine and recent.pseudonym in mine

    screening = _text(client.get("/trajectories/?state=screening"))
    assert "Geen open trajecten" in screening

    search = _text(client.get(f"/trajectories/?pseudonym={recent.pseudonym}"))
    assert recent.pseudonym in search and late.pseudonym not in search
    # Another region's pseudonym finds nothing and says nothing about it.
    foreign = _text(client.get(f"/trajectories/?pseudonym={elsewhere.pseudonym}"))
    assert "0 open trajecten" in foreign

    searches = db.session.scalars(
        select(AccessLogEntry).where(
            AccessLogEntry.action == AccessAction.SEARCH,
            AccessLogEntry.user_id == coordinator.id,
            AccessLogEntry.channel == "web",
        )
    ).all()
    assert searches


def test_worklist_of_a_coordinator_of_several_regions(app, session):
    both = factories.user(session, Role.COORDINATOR, ["UTR", "AMA"])
    utr = _register(session, both, "VT-TWO-UTR")
    ama = _register(session, both, "VT-TWO-AMA", region="AMA")
    outsider = factories.user(session, Role.COORDINATOR, ["GRO"])
    _register(session, outsider, "VT-TWO-GRO", region="GRO")
    client = _client(app, both)
    page = _text(client.get("/trajectories/"))
    assert 'name="region"' in page and "2 open trajecten" in page
    only_ama = _text(client.get("/trajectories/?region=AMA"))
    assert ama.pseudonym in only_ama and utr.pseudonym not in only_ama
    assert "GRO" not in re.sub(r"<select.*?</select>", "", only_ama, flags=re.S)


def test_worklist_pages_by_keyset(app, session, coordinator):
    made = [_register(session, coordinator, f"VT-PAGE-{n:03d}") for n in range(12)]
    client = _client(app, coordinator)
    first = _text(client.get("/trajectories/?per_page=10"))
    assert "12 open trajecten" in first
    link = re.search(r'href="([^"]*cursor=[^"]+)"[^>]*rel="next"', first)
    assert link, "no next page link"
    second = _text(client.get(link.group(1).replace("&amp;", "&")))
    shown = [t.pseudonym for t in made if t.pseudonym in first]
    rest = [t.pseudonym for t in made if t.pseudonym in second]
    assert len(shown) == 10 and len(rest) == 2 and not set(shown) & set(rest)
    assert 'rel="next"' not in second


# --- the trajectory page --------------------------------------------------------------------


def test_trajectory_page_shows_everything(app, session, coordinator):
    trajectory = _register(session, coordinator, "VT-PAGE-SHOW")
    page = Page(_client(app, coordinator), trajectory.id)
    html = page.html
    for text in ("Aangemeld", "Intake", trajectory.pseudonym, "Utrecht", coordinator.username):
        assert text in html
    assert "<svg" in html and 'aria-current="step"' in html
    assert "Toetsing afronden" in html and "Waarom deze datum" in html
    assert "werkdagen geteld" in html or "werkdag geteld" in html
    assert "<caption>" in html and 'scope="col"' in html
    page.fire("start_screening")
    html = page.html
    assert "Toetsing criteria MDA++" in html
    assert "niet beoordeeld" in html  # screening criteria unassessed
    # "accept" is shown, not hidden, with its unmet conditions tied to the button.
    assert re.search(
        r'<button type="submit" class="unavailable" aria-describedby="trigger-accept-unmet">',
        html,
    )
    unmet = re.search(r'id="trigger-accept-unmet">(.*?)</div>', html, re.S)
    assert unmet and "<li>" in unmet.group(1)
    reads = db.session.scalars(
        select(AccessLogEntry).where(
            AccessLogEntry.trajectory_id == trajectory.id,
            AccessLogEntry.action == AccessAction.READ,
            AccessLogEntry.channel == "web",
        )
    ).all()
    assert reads


def test_a_refused_trigger_changes_nothing_and_says_why(app, session, coordinator):
    trajectory = _register(session, coordinator, "VT-REFUSED")
    page = Page(_client(app, coordinator), trajectory.id)
    page.fire("start_screening")
    before = page.version
    page.post("/trigger", {"trigger": "accept"})
    assert page.version == before
    assert page.flash()  # the service's refusal, with its unmet conditions
    assert page.state() is TrajectoryState.SCREENING


def test_an_identifier_in_free_text_is_refused_next_to_the_field(app, session, coordinator):
    trajectory = _register(session, coordinator, "VT-IDENT")
    page = Page(_client(app, coordinator), trajectory.id)
    response = page.post("/suspend", {"reason": "moeder j.jansen@example.nl belt"}, status=422)
    html = _text(response)
    check_accessible(html)
    assert 'id="suspend-reason-error"' in html
    assert re.search(
        r'aria-invalid="true" aria-describedby="suspend-reason-hint suspend-reason-error"', html
    )
    assert "j.jansen@example.nl" in html  # kept in the field to correct, only on this page
    assert _fresh(trajectory.id).suspended_at is None
    assert _fresh(trajectory.id).version == page.version


CHANGES: dict[str, tuple[str, dict[str, Any]]] = {
    "trigger": ("/trigger", {"trigger": "start_screening"}),
    "checklist": ("/checklist", {"item": "multiple_life_domains", "done": "true"}),
    "suspend": ("/suspend", {"reason": "Gezin tijdelijk in opvang"}),
    "coordinator": ("/coordinator", {"coordinator_id": ""}),
    "transfer": ("/transfer", {"region": "AMA"}),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_each_change_applies_once_and_a_stale_version_conflicts(app, session, coordinator, change):
    if change == "transfer":  # a coordinator of both regions still sees it afterwards
        coordinator = factories.user(session, Role.COORDINATOR, ["UTR", "AMA"])
    trajectory = _register(session, coordinator, f"VT-CHANGE-{change}")
    if change == "checklist":
        from mda.services.trajectories import fire_trigger

        fire_trigger(session, factories.actor(coordinator), trajectory.id, "start_screening")
    page = Page(_client(app, coordinator), trajectory.id)
    path, data = CHANGES[change]
    stale = page.version
    response = page.client.post(page.url + path, data={"version": stale, **data})
    assert response.status_code == 302
    assert _fresh(trajectory.id).version == stale + 1
    # The same form again, rendered at the old version: a conflict, nothing applied.
    response = page.client.post(page.url + path, data={"version": stale, **data})
    assert response.status_code == 302
    assert response.headers["Location"] == page.url
    assert _fresh(trajectory.id).version == stale + 1
    html = _flashes(page.client, page.url)
    assert CONFLICT in html


def test_measurement_deadline_resume_and_reopen_routes(app, session, coordinator):
    trajectory = _register(session, coordinator, "VT-ROUTES", children="0")
    page = Page(_client(app, coordinator), trajectory.id)
    _to_immediate_safety(page)
    stale = page.version
    page.post(
        "/measurements",
        {
            "number": 1,
            "measured_on": today_nl().isoformat(),
            "violence_level": "severe",
            "safety_score": 4,
        },
    )
    assert page.version == stale + 1 and "Veel en ernstig geweld" in page.html
    page.client.post(
        page.url + "/measurements",
        data={
            "version": stale,
            "number": 2,
            "measured_on": today_nl().isoformat(),
            "violence_level": "none",
        },
    )
    assert CONFLICT in page.reload() and page.version == stale + 1

    page.post("/suspend", {"reason": "Opname in kliniek"})
    assert "Opgeschort" in page.html
    stale = page.version
    page.post("/resume", {})
    assert page.version == stale + 1 and _fresh(trajectory.id).suspended_at is None
    page.client.post(page.url + "/resume", data={"version": stale})
    assert CONFLICT in page.reload()

    page.fire("close", closure_reason="household_withdrew", reason="Verhuisd")
    assert page.state() is TrajectoryState.CLOSED
    stale = page.version
    page.post("/reopen", {"reason": "Nieuwe melding"})
    assert page.state() is TrajectoryState.IMMEDIATE_SAFETY and page.version == stale + 1
    page.client.post(page.url + "/reopen", data={"version": stale})
    assert CONFLICT in page.reload()


# --- one household through every phase, by the pages alone ----------------------------------


def _to_immediate_safety(page: Page) -> None:
    page.fire("start_screening")
    page.tick("multiple_life_domains", "interrelated_problems", "severe_or_persistent")
    page.tick("intergenerational", "needs_care_and_justice", done="false")
    assert "niet voldaan" in page.html
    page.fire("accept")
    page.tick("lead_assigned", "disciplines_committed", "partners_committed", "initial_plan")
    page.fire("form_team")
    assert page.state() is TrajectoryState.IMMEDIATE_SAFETY


def test_a_household_from_referral_to_closure_through_the_pages(app, session, coordinator):
    client = _client(app, coordinator)
    data = {**REGISTRATION, "reference": "VT-WALK-PAGES", "referred_on": today_nl().isoformat()}
    response = client.post("/trajectories/new", data=data)
    page = Page(client, int(response.headers["Location"].rsplit("/", 1)[1]))
    _to_immediate_safety(page)
    assert "Teamvorming" in page.html  # in the timeline

    page.tick("safety_conditions_set", "safety_plan_made", "trauma_screening_considered")
    assert "safety_established" in page.html
    page.post(
        "/measurements",
        {"number": 1, "measured_on": today_nl().isoformat(), "violence_level": "severe"},
    )
    page.fire("safety_established")
    assert page.state() is TrajectoryState.RISK_CARE

    # A relapse in a household with children: the school is told (Handle with care).
    page.fire("relapse", incident_date=today_nl().isoformat(), reason="Nieuw incident")
    assert page.state() is TrajectoryState.IMMEDIATE_SAFETY
    notice = db.session.scalar(
        select(Deadline).where(
            Deadline.trajectory_id == page.id,
            Deadline.kind == DeadlineKind.SCHOOL_NOTICE_DUE,
            Deadline.status == DeadlineStatus.OPEN,
        )
    )
    assert notice is not None and "School informeren" in page.html
    stale = {"version": page.version - 1, "status": "met", "note": "Mentor gebeld"}
    page.client.post(f"{page.url}/deadlines/{notice.id}", data=stale)
    assert CONFLICT in page.reload()
    db.session.refresh(notice)
    assert notice.status is DeadlineStatus.OPEN
    page.post(f"/deadlines/{notice.id}", {"status": "met", "note": "Mentor gebeld"})
    db.session.refresh(notice)
    assert notice.status is DeadlineStatus.MET and notice.note == "Mentor gebeld"

    page.post("/suspend", {"reason": "Gezin op vakantie"})
    page.post("/resume", {})
    page.tick("safety_conditions_set", "safety_plan_made", "trauma_screening_considered")
    page.fire("safety_established")
    page.tick("risk_assessment_done", "plan_updated_for_risks", "perpetrator_approach_considered")
    page.fire("risks_addressed")
    assert page.state() is TrajectoryState.RECOVERY
    page.tick("recovery_support_started", "trauma_treatment_decided", "goals_evaluated")
    page.fire("recovery_completed")
    assert page.state() is TrajectoryState.AFTERCARE
    assert 'value="goals_met"' in page.html
    page.fire("close", closure_reason="goals_met")
    assert page.state() is TrajectoryState.CLOSED
    html = page.html
    assert "Doelen bereikt" in html and "Afgesloten" in html
    for step in (
        "Start toetsing",
        "Toelaten tot MDA++",
        "Terugval",
        "Afsluiten",
        "Opgeschort",
        "Hervat",
    ):
        assert step in html, step
    changes = db.session.scalars(
        select(AccessLogEntry).where(
            AccessLogEntry.trajectory_id == page.id,
            AccessLogEntry.action == AccessAction.CHANGE,
            AccessLogEntry.channel == "web",
        )
    ).all()
    assert len(changes) >= 30


# --- other roles ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "programme", "admin", "auditor"])
def test_other_roles_get_403_on_every_route_logged_as_denied(app, session, coordinator, role):
    trajectory = _register(session, coordinator, f"VT-ROLE-{role}")
    deadline_id = db.session.scalar(
        select(Deadline.id).where(Deadline.trajectory_id == trajectory.id)
    )
    user = factories.user(session, role)
    client = _client(app, user)
    base = f"/trajectories/{trajectory.id}"
    routes = [
        ("GET", "/trajectories/"),
        ("GET", "/trajectories/new"),
        ("POST", "/trajectories/new"),
        ("GET", "/trajectories/lookup"),
        ("POST", "/trajectories/lookup"),
        ("GET", base),
        *(
            ("POST", base + path)
            for path in (
                "/trigger",
                "/reopen",
                "/checklist",
                "/measurements",
                f"/deadlines/{deadline_id}",
                "/suspend",
                "/resume",
                "/transfer",
                "/coordinator",
            )
        ),
    ]
    for method, url in routes:
        response = client.open(url, method=method, data={"version": trajectory.version})
        assert response.status_code == 403, (method, url)
        assert "Geen toegang" in _text(response)
    denied = db.session.scalars(
        select(AccessLogEntry).where(
            AccessLogEntry.action == AccessAction.DENIED, AccessLogEntry.user_id == user.id
        )
    ).all()
    assert len(denied) == len(routes)
    assert sum(1 for d in denied if d.trajectory_id == trajectory.id) == 10
    assert _fresh(trajectory.id).version == trajectory.version


def test_transfer_to_a_region_of_someone_else_leads_back_to_the_worklist(app, session, coordinator):
    trajectory = _register(session, coordinator, "VT-HANDOVER")
    page = Page(_client(app, coordinator), trajectory.id)
    response = page.client.post(
        page.url + "/transfer", data={"version": page.version, "region": "AMA"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/trajectories/"
    moved = _fresh(trajectory.id)
    assert moved.region_code == "AMA" and moved.coordinator_id is None
    assert "overgedragen aan regio AMA" in _text(page.client.get("/trajectories/"))


def test_the_pages_in_english(app, session, coordinator):
    trajectory = _register(session, coordinator, "VT-ENGLISH")
    client = _client(app, coordinator)
    client.post("/language", data={"lang": "en", "next": "/trajectories/"})
    assert "Worklist" in _text(client.get("/trajectories/"))
    html = _text(client.get(f"/trajectories/{trajectory.id}"))
    assert "Next steps" in html and "Referred" in html and "Complete the screening" in html
