"""Every page of the product, in Dutch and in English, passes three checks (tests/browser/a11y.py):
no serious or critical axe-core violation of WCAG 2.0/2.1 A and AA, every control reached by
Tab with its focus visible, and no sideways scrolling on a 360 px wide screen.

The walk is one list, ``CASES``: a page in a state worth seeing (with rows, with field errors,
with a refusal shown). ``test_every_route_is_walked`` fails when a route of the app is neither
walked by a case nor named in ``NOT_PAGES`` with the reason, so a new page cannot be missed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from mda.models import Trajectory
from mda.services import trajectories as service
from mda.services.admin import save_organisation
from mda.services.clock import half_year_nl
from mda.vocabulary import Role
from tests.browser.a11y import check_keyboard, check_narrow, check_page
from tests.browser.helpers import (
    LANGUAGES,
    Person,
    change,
    choose_language,
    drive,
    person,
    registered,
    relapse,
    sign_in,
    translator,
)
from tests.conftest import make_test_app


@dataclass
class Visit:
    """One look at one page: the browser page, the server, the language, who is signed in."""

    page: Any
    live: Any
    lang: str
    who: Person | None
    t: Callable[[str], str]
    found: dict[str, Any] = field(default_factory=dict)

    def goto(self, path: str) -> None:
        self.page.goto(f"{self.live.url}{path}")

    def click(self, name: str, **options: Any) -> None:
        self.page.get_by_role("button", name=self.t(name), **options).click()


@dataclass(frozen=True)
class Case:
    name: str
    covers: tuple[tuple[str, str], ...]  # (endpoint, method) of the routes this look walks
    role: Role | None
    heading: Callable[[Visit], Any]  # the page's h1 (a text, or a pattern)
    open: Callable[[Visit], None]  # brings the page into the state to check
    languages: tuple[str, ...] = LANGUAGES
    regions: tuple[str, ...] | None = None
    second_factor: bool = False
    # Something the case must show besides its heading (an error, a refusal, a row).
    shows: Callable[[Visit], str] | None = None


def h(text: str) -> Callable[[Visit], str]:
    return lambda v: v.t(text)


def GET(*endpoints: str) -> tuple[tuple[str, str], ...]:
    return tuple((e, "GET") for e in endpoints)


# --- the pages before the coordinator's ---------------------------------------------------


def _nothing(v: Visit) -> None:
    pass


def _refused_sign_in(v: Visit) -> None:
    v.page.get_by_label(v.t("Username")).fill("nobody-here")
    v.page.get_by_label(v.t("Password")).fill("not the right password")
    v.click("Sign in", exact=True)
    v.page.get_by_role("alert").wait_for()


def _signed_out(v: Visit) -> None:
    v.click("Sign out")
    v.page.wait_for_url(re.compile(r"/auth/login$"))


def _second_factor_refused(v: Visit) -> None:
    v.page.get_by_label(v.t("Code from your authenticator app")).fill("000000")
    v.click("Verify")


def _password_refused(v: Visit) -> None:
    v.goto("/account/password")
    v.page.get_by_label(v.t("Current password")).fill("not the right password")
    v.page.get_by_label(v.t("New password"), exact=True).fill("drie losse woorden hier")
    v.page.get_by_label(v.t("New password again")).fill("andere losse woorden hier")
    v.click("Change password")


def _enrolment_refused(v: Visit) -> None:
    v.goto("/account/second-factor")
    v.page.get_by_label(v.t("Code from your authenticator app")).fill("123")
    v.click("Switch on the second factor")


def _new_user(v: Visit) -> None:
    v.goto("/admin/users/new")


def _refused(v: Visit) -> None:
    v.goto("/admin/users/new")
    v.click("Save")


def _user_created(v: Visit) -> None:
    v.goto("/admin/users/new")
    name = f"new.{v.lang}.{v.who.id if v.who else 0}"
    v.found["name"] = name
    v.page.get_by_label(v.t("Username")).fill(name)
    v.page.get_by_label(v.t("Role")).select_option("coordinator")
    v.page.get_by_label("Utrecht (UTR)").check()
    v.click("Save")


def _user_edit(v: Visit) -> None:
    other = person(v.live, Role.COORDINATOR, ("UTR", "ZEE"), second_factor=True)
    v.found["name"] = other.username
    v.goto(f"/admin/users/{other.id}")


def _organisations(v: Visit) -> None:
    _organisation(v)
    v.goto("/admin/organisations")


def _organisation(v: Visit) -> Any:
    session = v.live.session()
    try:
        from mda.models import User
        from tests.support.factories import actor

        admin = session.get(User, v.who.id)
        name = f"Veilig Thuis Zeeland {v.lang} {v.who.id}"
        row = save_organisation(session, actor(admin), name, "veilig_thuis", "ZEE")
        v.found["organisation"] = name
        return row.id
    finally:
        session.close()


def _organisation_edit(v: Visit) -> None:
    v.goto(f"/admin/organisations/{_organisation(v)}")


def _access_log(v: Visit) -> None:
    coordinator = person(v.live)
    registered(v.live, coordinator)
    v.goto("/audit/access-log")


def _forbidden(v: Visit) -> None:
    v.goto("/admin/users")


def _not_found(v: Visit) -> None:
    v.goto("/no-such-page")


# --- the coordinator's pages ------------------------------------------------------------


def _worklist(v: Visit) -> None:
    me = v.who
    assert me is not None
    registered(v.live, me, days_ago=30)  # its screening is overdue
    registered(v.live, me, assign=False)
    drive(v.live, me, registered(v.live, me), "immediate_safety")
    v.goto("/trajectories/")


def _worklist_filtered(v: Visit) -> None:
    v.goto("/trajectories/")
    v.page.get_by_label(v.t("Pseudonym")).fill("ZZZZ-ZZZZ")
    v.click("Filter")
    v.page.wait_for_url(re.compile(r"pseudonym="))


def _worklist_regions(v: Visit) -> None:
    assert v.who is not None
    registered(v.live, v.who, region="ZEE")
    v.goto("/trajectories/")


def _register_refused(v: Visit) -> None:
    v.goto("/trajectories/new")
    v.click("Register")


def _lookup_refused(v: Visit) -> None:
    v.goto("/trajectories/lookup")
    v.page.get_by_label(v.t("Reference of the referrer")).fill("UNKNOWN-12345")
    v.click("Look up")


def _show(state: str, **registration: Any) -> Callable[[Visit], None]:
    def open_(v: Visit) -> None:
        assert v.who is not None
        trajectory_id = registered(v.live, v.who, **registration)
        drive(v.live, v.who, trajectory_id, state)
        v.found["id"] = trajectory_id
        v.goto(f"/trajectories/{trajectory_id}")

    return open_


def _screening_assessed(v: Visit) -> None:
    assert v.who is not None
    trajectory_id = registered(v.live, v.who)
    drive(v.live, v.who, trajectory_id, "screening")

    def assess(session: Any, actor: Any) -> None:
        service.set_checklist_item(session, actor, trajectory_id, "multiple_life_domains", True)
        service.set_checklist_item(session, actor, trajectory_id, "intergenerational", False)

    change(v.live, v.who, assess)
    v.goto(f"/trajectories/{trajectory_id}")


def _trigger_refused(v: Visit) -> None:
    assert v.who is not None
    trajectory_id = registered(v.live, v.who, assign=False)
    v.goto(f"/trajectories/{trajectory_id}")
    v.page.get_by_role("button", name=v.t("Start screening")).click()
    v.page.get_by_role("alert").wait_for()


def _school_notice(v: Visit) -> None:
    assert v.who is not None
    trajectory_id = registered(v.live, v.who, children="2")
    drive(v.live, v.who, trajectory_id, "recovery")
    relapse(v.live, v.who, trajectory_id)
    v.goto(f"/trajectories/{trajectory_id}")
    # The explanation of every deadline open, so that it is checked too.
    for summary in v.page.get_by_text(v.t("Why it is due then")).all():
        summary.click()


def _suspended(v: Visit) -> None:
    assert v.who is not None
    trajectory_id = registered(v.live, v.who)
    drive(v.live, v.who, trajectory_id, "team_forming")
    v.goto(f"/trajectories/{trajectory_id}")
    v.page.get_by_label(v.t("Reason for suspending")).fill("Wacht op het huisbezoek van het team")
    v.click("Suspend the trajectory")
    v.page.get_by_role("button", name=v.t("Resume the trajectory")).wait_for()


def _checklist_refused(v: Visit) -> None:
    """An e-mail address in a checklist's details: the identifier guard refuses it."""
    assert v.who is not None
    trajectory_id = registered(v.live, v.who)
    drive(v.live, v.who, trajectory_id, "team_forming")
    v.goto(f"/trajectories/{trajectory_id}")
    item = v.page.get_by_role(
        "group", name=re.compile("^" + re.escape(v.t("A lead professional is assigned")))
    )
    item.get_by_label(v.t("Details (optional)")).fill("Mail j.jansen@example.org")
    item.get_by_role("button", name=re.compile("^" + re.escape(v.t("Save")))).click()
    v.page.get_by_role("heading", name=v.t("Your change was not saved")).wait_for()


def _measurement_refused(v: Visit) -> None:
    assert v.who is not None
    trajectory_id = registered(v.live, v.who)
    drive(v.live, v.who, trajectory_id, "immediate_safety")
    v.goto(f"/trajectories/{trajectory_id}")
    v.click("Record measurement")  # no violence level chosen
    v.page.get_by_role("heading", name=v.t("Your change was not saved")).wait_for()


def _conflict(v: Visit) -> None:
    assert v.who is not None
    trajectory_id = registered(v.live, v.who)
    drive(v.live, v.who, trajectory_id, "screening")
    v.goto(f"/trajectories/{trajectory_id}")
    change(
        v.live,
        v.who,
        lambda s, a: service.set_checklist_item(s, a, trajectory_id, "intergenerational", True),
    )
    item = v.page.get_by_role(
        "group", name=re.compile("^" + re.escape(v.t("Problems in several life domains")))
    )
    item.get_by_role("radio", name=v.t("Yes, met")).check()
    item.get_by_role("button", name=re.compile("^" + re.escape(v.t("Save")))).click()
    v.page.get_by_role("alert").wait_for()


def _trajectory_heading(v: Visit) -> str:
    session = v.live.session()
    try:
        found = re.search(r"/trajectories/(\d+)", v.page.url)
        assert found, f"not on a trajectory's page: {v.page.url}"
        trajectory_id = int(found.group(1))
        pseudonym = session.get(Trajectory, trajectory_id).pseudonym
    finally:
        session.close()
    return v.t("Trajectory %(pseudonym)s") % {"pseudonym": pseudonym}


ADMIN, AUDITOR, COORD = Role.ADMIN, Role.AUDITOR, Role.COORDINATOR
MANAGER, PROGRAMME = Role.MANAGER, Role.PROGRAMME


def _this_half_year() -> str:
    year, half = half_year_nl()
    return f"{year}-H{half}"


CONFLICT = (
    "Someone else changed this trajectory in the meantime. Nothing of your change was "
    "applied. This is the trajectory as it is now: make your change again if it is still "
    "needed."
)

CASES: list[Case] = [
    # Signing in.
    Case("sign-in", GET("auth.login"), None, h("Sign in"), _nothing),
    Case(
        "sign-in-refused",
        (("auth.login", "POST"),),
        None,
        h("Sign in"),
        _refused_sign_in,
        shows=h("Unknown username or wrong password."),
    ),
    Case(
        "signed-out",
        (("auth.logout", "POST"),),
        ADMIN,
        h("Sign in"),
        _signed_out,
        shows=h("You are signed out."),
    ),
    # Without a role but with a second factor: signed in up to the code.
    Case(
        "second-factor",
        GET("auth.second_factor"),
        None,
        h("Second factor"),
        _nothing,
        second_factor=True,
    ),
    Case(
        "second-factor-refused",
        (("auth.second_factor", "POST"),),
        None,
        h("Second factor"),
        _second_factor_refused,
        second_factor=True,
    ),
    # Start page and own account.
    Case(
        "start",
        GET("main.index"),
        ADMIN,
        lambda v: v.t("Welcome, %(name)s") % {"name": v.who.username if v.who else ""},
        lambda v: v.goto("/"),
    ),
    Case("account", GET("account.index"), ADMIN, h("My account"), lambda v: v.goto("/account/")),
    Case(
        "password",
        GET("account.password"),
        ADMIN,
        h("Change password"),
        lambda v: v.goto("/account/password"),
    ),
    Case(
        "password-refused",
        (("account.password", "POST"),),
        ADMIN,
        h("Change password"),
        _password_refused,
        shows=h("The two new passwords differ."),
    ),
    Case(
        "second-factor-enrolment",
        GET("account.second_factor"),
        ADMIN,
        h("Set up a second factor"),
        lambda v: v.goto("/account/second-factor"),
    ),
    Case(
        "second-factor-enrolment-refused",
        (("account.second_factor", "POST"),),
        ADMIN,
        h("Set up a second factor"),
        _enrolment_refused,
        shows=h("Enter the 6-digit code."),
    ),
    Case(
        "second-factor-on",
        GET("account.second_factor"),
        ADMIN,
        h("Second factor"),
        lambda v: v.goto("/account/second-factor"),
        second_factor=True,
    ),
    # Administration.
    Case("users", GET("admin.users"), ADMIN, h("Users"), lambda v: v.goto("/admin/users")),
    Case(
        "user-new",
        GET("admin.user_new"),
        ADMIN,
        h("New user"),
        lambda v: v.goto("/admin/users/new"),
    ),
    Case("user-new-refused", (("admin.user_new", "POST"),), ADMIN, h("New user"), _refused),
    Case(
        "user-created",
        (("admin.user_new", "POST"),),
        ADMIN,
        lambda v: v.t("Account %(name)s created") % {"name": v.found["name"]},
        _user_created,
    ),
    Case(
        "user-edit",
        GET("admin.user_edit"),
        ADMIN,
        lambda v: v.t("User %(name)s") % {"name": v.found["name"]},
        _user_edit,
    ),
    Case("organisations", GET("admin.organisations"), ADMIN, h("Organisations"), _organisations),
    Case(
        "organisation-edit",
        GET("admin.organisation_edit"),
        ADMIN,
        lambda v: v.found["organisation"],
        _organisation_edit,
    ),
    Case(
        "deadline-rules",
        GET("admin.deadline_rules"),
        ADMIN,
        h("Deadline rules"),
        lambda v: v.goto("/admin/deadline-rules"),
    ),
    Case(
        "deadline-rule",
        GET("admin.deadline_rule_edit"),
        ADMIN,
        lambda v: f"{v.t('Deadline rule')} school_notice_due",
        lambda v: v.goto("/admin/deadline-rules/school_notice_due"),
    ),
    Case(
        "calendar",
        GET("admin.calendar_days"),
        ADMIN,
        h("Working-day calendar"),
        lambda v: v.goto("/admin/calendar"),
    ),
    Case("access-log", GET("audit.access_log"), AUDITOR, h("Access log"), _access_log),
    # Regional implementation: the managers' and the programme team's pages.
    Case("regions", GET("regions.index"), MANAGER, h("Regions"), lambda v: v.goto("/regions")),
    Case(
        "region",
        GET("regions.show"),
        MANAGER,
        lambda v: re.compile("^" + re.escape(v.t("MDA++ in %(region)s") % {"region": "Utrecht"})),
        lambda v: v.goto("/regions/UTR"),
    ),
    Case(
        "region-report",
        GET("regions.report"),
        MANAGER,
        lambda v: re.compile(re.escape(v.t("Half-year report %(period)s for %(region)s")[:8])),
        lambda v: v.goto(f"/regions/UTR/reports/{_this_half_year()}"),
    ),
    Case(
        "programme",
        GET("regions.programme"),
        PROGRAMME,
        h("MDA++ in the regions"),
        lambda v: v.goto("/programme/regions"),
    ),
    Case(
        "programme-region",
        GET("regions.programme_region"),
        PROGRAMME,
        lambda v: re.compile("^" + re.escape(v.t("MDA++ in %(region)s") % {"region": "Utrecht"})),
        lambda v: v.goto("/programme/regions/UTR"),
    ),
    # Notifications (empty list: no reminder has been sent in these tests).
    Case(
        "notifications",
        GET("notifications.index"),
        COORD,
        h("Notifications"),
        lambda v: v.goto("/notifications/"),
    ),
    Case(
        "notification-settings",
        GET("notifications.settings"),
        COORD,
        h("Notification settings"),
        lambda v: v.goto("/notifications/settings"),
    ),
    Case(
        "reminder-health",
        GET("notifications.health"),
        MANAGER,
        h("Reminder health"),
        lambda v: v.goto("/notifications/health"),
    ),
    # Dashboards (the manager's with its charts; the programme's before a release is made).
    Case(
        "region-dashboard",
        GET("dashboards.region"),
        MANAGER,
        lambda v: re.compile("^" + re.escape(v.t("Dashboard %(region)s") % {"region": "Utrecht"})),
        lambda v: v.goto("/dashboard/region/UTR"),
    ),
    Case(
        "programme-figures",
        GET("dashboards.programme"),
        PROGRAMME,
        h("Figures"),
        lambda v: v.goto("/dashboard/programme"),
    ),
    # Errors.
    Case("403", (), COORD, lambda v: f"403 · {v.t('No access')}", _forbidden),
    Case("404", (), ADMIN, lambda v: f"404 · {v.t('Not found')}", _not_found),
    # The API's own page (for developers, English only).
    Case(
        "api-docs",
        GET("api.api_docs"),
        None,
        lambda v: re.compile(r"^MDA\+\+ API"),
        lambda v: v.goto("/api/v1/docs"),
        languages=("en",),
    ),
    # The coordinator's working day.
    Case(
        "worklist",
        GET("trajectories.worklist"),
        COORD,
        h("Worklist"),
        _worklist,
        shows=h("Overdue"),
    ),
    Case(
        "worklist-filtered",
        GET("trajectories.worklist"),
        COORD,
        h("Worklist"),
        _worklist_filtered,
        shows=h("No open trajectories match."),
    ),
    Case(
        "worklist-two-regions",
        GET("trajectories.worklist"),
        COORD,
        h("Worklist"),
        _worklist_regions,
        regions=("UTR", "ZEE"),
    ),
    Case(
        "register",
        GET("trajectories.register"),
        COORD,
        h("Register a referral"),
        lambda v: v.goto("/trajectories/new"),
    ),
    Case(
        "register-refused",
        (("trajectories.register", "POST"),),
        COORD,
        h("Register a referral"),
        _register_refused,
        shows=h("Not everything is filled in correctly"),
    ),
    Case(
        "lookup",
        GET("trajectories.lookup"),
        COORD,
        h("Look up by reference"),
        lambda v: v.goto("/trajectories/lookup"),
    ),
    Case(
        "lookup-refused",
        (("trajectories.lookup", "POST"),),
        COORD,
        h("Look up by reference"),
        _lookup_refused,
        shows=h("No trajectory in your regions is registered under this reference."),
    ),
    Case(
        "trajectory-referred",
        GET("trajectories.show"),
        COORD,
        _trajectory_heading,
        _show("referred"),
    ),
    Case(
        "trajectory-trigger-refused",
        (("trajectories.trigger", "POST"),),
        COORD,
        _trajectory_heading,
        _trigger_refused,
        shows=h("Not possible yet:"),
    ),
    Case(
        "trajectory-screening",
        GET("trajectories.show"),
        COORD,
        _trajectory_heading,
        _screening_assessed,
        shows=h("not assessed"),
    ),
    Case(
        "trajectory-checklist-refused",
        (("trajectories.checklist", "POST"),),
        COORD,
        _trajectory_heading,
        _checklist_refused,
    ),
    Case(
        "trajectory-suspended",
        (("trajectories.suspend", "POST"),),
        COORD,
        _trajectory_heading,
        _suspended,
    ),
    Case(
        "trajectory-immediate-safety",
        GET("trajectories.show"),
        COORD,
        _trajectory_heading,
        _show("immediate_safety"),
        shows=h("Record a measurement"),
    ),
    Case(
        "trajectory-measurement-refused",
        (("trajectories.measurement", "POST"),),
        COORD,
        _trajectory_heading,
        _measurement_refused,
    ),
    Case(
        "trajectory-relapse-school-notice",
        GET("trajectories.show"),
        COORD,
        _trajectory_heading,
        _school_notice,
        shows=h("Inform the school (Handle with care)"),
    ),
    Case(
        "trajectory-aftercare",
        GET("trajectories.show"),
        COORD,
        _trajectory_heading,
        _show("aftercare"),
    ),
    Case(
        "trajectory-closed",
        GET("trajectories.show"),
        COORD,
        _trajectory_heading,
        _show("closed"),
    ),
    Case(
        "trajectory-conflict",
        (("trajectories.checklist", "POST"),),
        COORD,
        _trajectory_heading,
        _conflict,
        shows=h(CONFLICT),
    ),
]

# Routes that are not a page of their own, and why.
NOT_PAGES = {
    ("static", "GET"): "files (the style sheet)",
    ("main.healthz", "GET"): "JSON for the load balancer",
    ("main.language", "POST"): "redirects back; walked by every English case",
    ("audit.access_log_csv", "GET"): "a CSV download",
    ("dashboards.release_download", "GET"): "a CSV or XLSX download",
    ("admin.user_edit", "POST"): "redirects to the user's page (user-edit)",
    ("admin.user_reset_password", "POST"): "shows the one-time password page (user-created)",
    ("admin.user_reset_second_factor", "POST"): "redirects to the user's page (user-edit)",
    ("admin.organisations", "POST"): "redirects to the organisations (organisations)",
    ("admin.organisation_edit", "POST"): "redirects to the list (organisations)",
    ("admin.deadline_rule_edit", "POST"): "redirects to the rules (deadline-rules)",
    ("admin.calendar_days", "POST"): "redirects to the calendar (calendar)",
    ("admin.calendar_day_remove", "POST"): "redirects to the calendar (calendar)",
    ("regions.status", "POST"): "redirects to the region page; not walked with its errors",
    ("regions.blocks", "POST"): "redirects to the region page; not walked with its errors",
    ("regions.report", "POST"): "redirects to the report; not walked with its errors",
    ("notifications.read", "POST"): "redirects to the notifications (notifications)",
    ("notifications.read_all", "POST"): "redirects to the notifications (notifications)",
    ("notifications.settings", "POST"): "redirects to the settings; not walked with its errors",
    ("trajectories.reopen", "POST"): "redirects to the trajectory page (trajectory-*)",
    ("trajectories.deadline", "POST"): "redirects to the trajectory page; the coordinator walk",
    ("trajectories.resume", "POST"): "redirects to the trajectory page; the coordinator walk",
    ("trajectories.transfer", "POST"): "redirects to the trajectory page or the worklist",
    ("trajectories.coordinator", "POST"): "redirects to the trajectory page",
}


def test_every_route_is_walked():
    """A route without a case (or a reason in NOT_PAGES) fails here: add its case."""
    app = make_test_app()
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.endpoint != "api.api_docs":
            continue  # the API answers JSON; its tests are in tests/api
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            routes.add((rule.endpoint, method))
    walked = {route for case in CASES for route in case.covers}
    missing = sorted(routes - walked - NOT_PAGES.keys())
    stale = sorted((walked | NOT_PAGES.keys()) - routes)
    assert not missing, f"routes no accessibility case walks: {missing}"
    assert not stale, f"cases or reasons for routes that do not exist: {stale}"
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)), "two cases with one name"


PARAMS = [
    pytest.param(case, lang, id=f"{case.name}-{lang}") for case in CASES for lang in case.languages
]


@pytest.mark.parametrize(("case", "lang"), PARAMS)
def test_page_is_accessible(page, live_server, case: Case, lang: str):
    page.set_viewport_size({"width": 1280, "height": 900})
    t = translator(lang)
    who = None
    if case.role is not None:
        who = person(live_server, case.role, case.regions, second_factor=case.second_factor)
        sign_in(page, live_server, who, lang)
    else:
        page.goto(f"{live_server.url}/auth/login")
        choose_language(page, lang)
        if case.second_factor:
            sign_in(page, live_server, person(live_server, second_factor=True), lang, code=False)
    visit = Visit(page, live_server, lang, who, t)
    case.open(visit)
    page.wait_for_load_state()

    where = f"{case.name} ({lang}, {page.url})"
    heading = case.heading(visit)
    exact = isinstance(heading, str)
    assert page.get_by_role("heading", level=1, name=heading, exact=exact).is_visible(), (
        f"{where}: no heading {heading!r}; the page says {page.locator('h1').all_inner_texts()}"
    )
    if case.name != "api-docs":
        assert page.locator("html").get_attribute("lang") == lang, where
    if case.shows is not None:
        text = case.shows(visit)
        found = page.get_by_text(text, exact=True).all() or page.get_by_text(text).all()
        assert any(one.is_visible() for one in found), f"{where}: {text!r} not shown"
    check_page(page, where)
    check_keyboard(page, where)
    check_narrow(page, where)
