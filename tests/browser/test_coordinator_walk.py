"""A coordinator's whole trajectory, in Dutch, in a real browser on PostgreSQL.

One coordinator registers a referral on the page (with the keyboard only) and walks it from
``referred`` to ``closed`` through every phase: screening with its criteria, accept, team
forming, immediate safety with safety measurement 1, risk-driven care, one relapse back to
immediate safety with an incident date, recovery, aftercare, and closing with ``goals_met``. On
the way: a trigger refused with its unmet conditions shown in Dutch, the "Handle with care"
school notice (opened by the relapse, as there are children) marked met with a note, a
suspension with its reason and a resume (the resume form asks no reason), and a second
coordinator of the same region changing the trajectory meanwhile, so that the first one's stale
form is refused with the conflict message and the fresh state, with nothing of it applied.

It also makes the Dutch screenshots of the worklist and the trajectory page in docs/images, so
the documentation never shows an old page.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mda.models import Trajectory
from mda.services.clock import today_nl
from tests.browser.a11y import check_page
from tests.browser.helpers import drive, person, registered, sign_in, translator

REGION = "FRI"  # a region of the walk's own: its worklist holds only what the walk puts there
REFERENCE = "VT-FRI-2026-0042"
IMAGES = Path(__file__).parents[2] / "docs" / "images"
SHOT_SIZE = {"width": 1280, "height": 900}
t = translator("nl")

# The words on the Dutch pages, from the product's own catalogue.
CRITERIA = {
    "multiple_life_domains": ("Problems in several life domains", True),
    "interrelated_problems": ("The problems are interrelated", True),
    "intergenerational": ("Violence passes from generation to generation", True),
    "severe_or_persistent": ("The violence is severe or persistent", False),
    "needs_care_and_justice": ("Care and justice are both needed", True),
}
CHECKLISTS = {
    "team_forming": [
        "A lead professional is assigned",
        "Disciplines committed: at least one care and one justice discipline",
        "Partner organisations committed",
        "A first plan of approach is made",
    ],
    "immediate_safety": [
        "Safety conditions are set",
        "A safety plan is made",
        "Trauma screening is considered",
    ],
    "risk_care": [
        "The risk assessment is done",
        "The plan is updated for the risks",
        "A perpetrator approach is considered",
    ],
    "recovery": [
        "Recovery support has started",
        "Trauma treatment is decided on",
        "The goals are evaluated",
    ],
}
STATE_LABELS = {
    "referred": "Referred",
    "screening": "Screening of the MDA++ criteria",
    "team_forming": "Team forming and commitment",
    "immediate_safety": "Immediate safety",
    "risk_care": "Risk-driven care",
    "recovery": "Recovery",
    "aftercare": "Aftercare and monitoring",
    "closed": "Closed",
}


def starts(text: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(text))


# --- what a coordinator does on the trajectory page --------------------------------------


def state_of(page: Any) -> str:
    """The state the page shows (the first fact of the trajectory)."""
    facts = page.locator("dl")
    return facts.get_by_role("strong").first.inner_text().strip()


def assert_state(page: Any, state: str) -> None:
    label = t(STATE_LABELS[state])
    assert state_of(page) == label, f"the page shows {state_of(page)!r}, expected {label!r}"
    caption = t("Current state: %(state)s") % {"state": label}
    assert page.get_by_role("figure").get_by_text(caption, exact=True).is_visible()


def fact(page: Any, name: str) -> str:
    """One fact of the trajectory (the description list at the top), by its term."""
    return page.evaluate(
        """(term) => {
          const dt = [...document.querySelectorAll('dl dt')].find(d => d.innerText.trim() === term);
          return dt ? dt.nextElementSibling.innerText.trim() : null;
        }""",
        t(name),
    )


def flash(page: Any) -> str:
    return page.get_by_role("status").or_(page.get_by_role("alert")).first.inner_text()


def steps(page: Any) -> Any:
    return page.get_by_role("region", name=t("Next steps"))


def step_card(page: Any, trigger_label: str) -> Any:
    """The card of one step under "Next steps": its button, its fields, its unmet conditions."""
    button = page.get_by_role("button", name=t(trigger_label), exact=True)
    return steps(page).get_by_role("listitem").filter(has=button)


def fire(page: Any, trigger_label: str, fill: dict[str, str] | None = None) -> None:
    """Take a step under "Next steps" (with what its form asks), and see it done."""
    card = step_card(page, trigger_label)
    for label, value in (fill or {}).items():
        field = card.get_by_label(t(label))
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)
    with page.expect_navigation():
        card.get_by_role("button", name=t(trigger_label), exact=True).click()
    done = t("Done: %(step)s.") % {"step": t(trigger_label)}
    assert done in flash(page), f"{trigger_label}: the page says {flash(page)!r}"


def tick(page: Any, item: str, answer: str = "Done") -> None:
    """Set one checklist item (or screening criterion) and save it."""
    group = page.get_by_role("group", name=starts(t(item)))
    group.get_by_role("radio", name=t(answer), exact=True).check()
    with page.expect_navigation():
        group.get_by_role("button", name=starts(t("Save"))).click()
    assert t("Saved: %(item)s.") % {"item": t(item)} in flash(page)


def status_of(page: Any, item: str) -> str:
    group = page.get_by_role("group", name=starts(t(item)))
    return group.locator("legend strong").inner_text().strip()


def complete_checklist(page: Any, state: str) -> None:
    for item in CHECKLISTS[state]:
        if status_of(page, item) != t("done"):
            tick(page, item)


def deadline_card(page: Any, kind_label: str) -> Any:
    section = page.get_by_role("region", name=t("Deadlines"))
    heading = page.get_by_role("heading", name=t(kind_label), exact=True)
    return section.get_by_role("listitem").filter(has=heading)


# --- the keyboard --------------------------------------------------------------------------

_ACTIVE_NAME = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return '';
  const label = el.labels && el.labels.length ? el.labels[0].innerText : '';
  return (el.getAttribute('aria-label') || label || el.innerText || '').trim();
}"""


def tab_to(page: Any, name: str | re.Pattern[str], limit: int = 250) -> None:
    """Press Tab until the control named ``name`` has the focus (never click, never focus())."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        current = page.evaluate(_ACTIVE_NAME)
        if (current == name) if isinstance(name, str) else name.search(current):
            return
    raise AssertionError(f"{name!r} is not reached with Tab")


def from_top(page: Any) -> None:
    """Start a keyboard journey where a fresh page starts it: before the first control."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    page.evaluate(
        """() => { const s = document.createElement('span'); s.tabIndex = -1;
                   document.body.prepend(s); s.focus(); s.remove(); }"""
    )


def register_with_keyboard(page: Any) -> None:
    """The whole registration form with the keyboard: Tab between fields, typing in them,
    Space to tick, the arrow key to choose within the radio group, Enter to send."""
    from_top(page)
    tab_to(page, t("Region"))  # one region: already chosen
    page.keyboard.press("Tab")
    assert page.evaluate(_ACTIVE_NAME) == t("Reference of the referrer")
    page.keyboard.type(REFERENCE)
    page.keyboard.press("Tab")
    assert page.evaluate(_ACTIVE_NAME) == t("Referred by")
    page.keyboard.type(t("Police"))  # a closed select chooses by typing
    tab_to(page, t("Partner violence"))
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate(_ACTIVE_NAME) == t("Child abuse")
    page.keyboard.press("Space")
    tab_to(page, t("No children"))  # into the radio group
    page.keyboard.press("ArrowDown")  # to "1 kind", which chooses it
    assert page.evaluate(_ACTIVE_NAME) == t("1 child")
    # The referral date keeps its default, today; on to the button.
    tab_to(page, t("Register"))
    with page.expect_navigation():
        page.keyboard.press("Enter")


def suspend_with_keyboard(page: Any, reason: str) -> None:
    """Tab to the reason, type it, Tab to the button, Enter."""
    from_top(page)
    tab_to(page, t("Reason for suspending"))
    page.keyboard.type(reason)
    tab_to(page, t("Suspend the trajectory"))
    with page.expect_navigation():
        page.keyboard.press("Enter")


# --- the walk ----------------------------------------------------------------------------


def test_coordinator_walks_a_referral_from_registration_to_closing(live_server, new_page):
    IMAGES.mkdir(parents=True, exist_ok=True)
    anna = person(live_server, regions=(REGION,), username="a.de.vries")
    bram = person(live_server, regions=(REGION,), username="b.jansen")
    # The region's worklist beside the walk: one referral overdue, one without a coordinator,
    # one in immediate safety.
    # Fixed references: the same pseudonyms in every run, so the screenshots change only when
    # the pages do (and with the date).
    registered(live_server, anna, region=REGION, days_ago=30, reference="VT-FRI-2026-0031")
    registered(
        live_server, anna, region=REGION, assign=False, children="0", reference="VT-FRI-2026-0040"
    )
    seeded = registered(live_server, bram, region=REGION, reference="VT-FRI-2026-0036")
    drive(live_server, bram, seeded, "immediate_safety")

    page = new_page(viewport=SHOT_SIZE)
    sign_in(page, live_server, anna, "nl")
    page.wait_for_url(f"{live_server.url}/trajectories/")

    # -- register the referral, keyboard only ------------------------------------------------
    page.get_by_role("main").get_by_role("link", name=t("Register a referral")).click()
    page.get_by_role("heading", name=t("Register a referral"), level=1).wait_for()
    register_with_keyboard(page)
    assert re.search(r"/trajectories/\d+$", page.url), page.url
    trajectory_id = int(page.url.rsplit("/", 1)[-1])
    pseudonym = _row(live_server, trajectory_id).pseudonym
    assert t("The referral is registered as %(pseudonym)s.") % {"pseudonym": pseudonym} in flash(
        page
    )
    assert_state(page, "referred")
    facts = page.locator("dl").inner_text()
    assert t("Police") in facts and t("1 child") in facts and anna.username in facts
    row = _row(live_server, trajectory_id)
    assert (row.referral_source.value, row.children.value) == ("police", "1")
    assert sorted(row.violence_types) == ["child_abuse", "partner_violence"]
    assert row.referred_on == today_nl() and row.coordinator_id == anna.id

    # The worklist, with the new referral on it (and the screenshot for the docs).
    page.get_by_role("navigation", name=t("Main")).get_by_role("link", name=t("Worklist")).click()
    page.get_by_role("heading", name=t("Worklist"), level=1).wait_for()
    assert page.get_by_role("link", name=pseudonym, exact=True).is_visible()
    assert page.get_by_text(t("Overdue"), exact=True).first.is_visible()
    page.screenshot(path=str(IMAGES / "worklist.png"), full_page=True)
    page.get_by_role("link", name=pseudonym, exact=True).click()

    # -- screening: the criteria, then accept ------------------------------------------------
    fire(page, "Start screening")
    assert_state(page, "screening")
    for key, (criterion, met) in CRITERIA.items():
        assert status_of(page, criterion) == t("not assessed"), key
        tick(page, criterion, "Yes, met" if met else "No, not met")
        assert status_of(page, criterion) == t("met" if met else "not met")
    fire(page, "Accept for MDA++")
    assert_state(page, "team_forming")

    # -- team forming ------------------------------------------------------------------------
    complete_checklist(page, "team_forming")
    fire(page, "Team formed")
    assert_state(page, "immediate_safety")

    # -- immediate safety: a step refused, its unmet conditions in Dutch -----------------------
    card = step_card(page, "Safety established")
    unmet = card.get_by_role("listitem")
    shown = [text.strip() for text in unmet.all_inner_texts()]
    assert card.get_by_text("Nog niet mogelijk:").is_visible()
    assert "veiligheidsmeting 1 is nog niet vastgelegd" in shown, shown
    for item in CHECKLISTS["immediate_safety"]:
        # "checklistpunt ‘Er is een veiligheidsplan gemaakt’ is nog niet gedaan"
        said = [s for s in shown if t(item) in s]
        assert said, (item, shown)
        assert said[0].startswith("checklistpunt ") and said[0].endswith(" is nog niet gedaan")
    before = _row(live_server, trajectory_id).version
    with page.expect_navigation():
        card.get_by_role("button", name=t("Safety established"), exact=True).click()
    alert = page.get_by_role("alert").inner_text()
    assert "veiligheidsmeting 1 is nog niet vastgelegd" in alert, alert
    assert "not recorded" not in alert  # Dutch, not the services' English
    assert_state(page, "immediate_safety")
    assert _row(live_server, trajectory_id).version == before  # nothing happened

    # Safety measurement 1, then the checklist, then the step.
    measurements = page.get_by_role("region", name=t("Safety measurements"))
    assert measurements.get_by_label(t("Measurement number")).input_value() == "1"
    assert measurements.get_by_label(t("Measured on")).input_value() == today_nl().isoformat()
    measurements.get_by_role("radio", name=t("Moderate violence")).check()
    measurements.get_by_label(t("Safety score (0-10, optional)")).fill("6")
    with page.expect_navigation():
        measurements.get_by_role("button", name=t("Record measurement")).click()
    assert t("Safety measurement %(number)s is recorded.") % {"number": 1} in flash(page)
    table = page.get_by_role("table", name=t("Safety measurements recorded"))
    assert t("Moderate violence") in table.inner_text()
    complete_checklist(page, "immediate_safety")
    fire(page, "Safety established")
    assert_state(page, "risk_care")

    # -- risk-driven care, recovery ----------------------------------------------------------
    complete_checklist(page, "risk_care")
    fire(page, "Risks addressed")
    assert_state(page, "recovery")

    # -- a relapse: back to immediate safety, the school to be told ---------------------------
    incident = today_nl()
    fire(
        page,
        "Relapse (new incident)",
        {
            "Date of the incident": incident.isoformat(),
            "Explanation (optional)": "Nieuw incident gemeld door de politie",
        },
    )
    assert_state(page, "immediate_safety")
    assert _row(live_server, trajectory_id).relapses == 1
    # The safety checklist must be confirmed again.
    for item in CHECKLISTS["immediate_safety"]:
        assert status_of(page, item) == t("not done"), item
    notice = deadline_card(page, "Inform the school (Handle with care)")
    assert notice.is_visible()
    assert t("Open") in notice.inner_text()
    # The top of the page (facts, diagram, checklist, next steps): enough for the docs.
    page.screenshot(
        path=str(IMAGES / "trajectory.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": 2400},
    )
    check_page(page, "the trajectory page after the relapse")

    # The school is told: marked met with a note, with the keyboard (Tab, typing, Enter).
    from_top(page)
    tab_to(page, starts(t("Note")))
    page.keyboard.type("School is ingelicht door de intern begeleider")
    tab_to(page, starts(t("Mark as met")))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert t("The deadline is marked as met.") in flash(page)
    notice = deadline_card(page, "Inform the school (Handle with care)")
    assert t("Met") in notice.inner_text()
    assert "School is ingelicht door de intern begeleider" in notice.inner_text()

    # -- a suspension and a resume -------------------------------------------------------------
    suspend_with_keyboard(page, "Gezin tijdelijk verhuisd naar familie")
    assert t("The trajectory is suspended.") in flash(page)
    assert "Gezin tijdelijk verhuisd naar familie" in page.locator(".notice").inner_text()
    # While suspended no step can be taken: said in words.
    assert (
        "het traject is opgeschort; hervat het eerst"
        in step_card(page, "Safety established").inner_text()
    )
    _resume(page)
    assert t("The trajectory is resumed.") in flash(page)
    assert page.get_by_role("button", name=t("Suspend the trajectory")).is_visible()

    # -- a colleague changes the trajectory meanwhile -------------------------------------------
    stale_version = _row(live_server, trajectory_id).version
    other = new_page(viewport=SHOT_SIZE)
    sign_in(other, live_server, bram, "nl")
    other.goto(f"{live_server.url}/trajectories/{trajectory_id}")
    tick(other, "Safety conditions are set")
    assert _row(live_server, trajectory_id).version == stale_version + 1

    # Anna's page is stale: her change is refused, nothing of it applied, the fresh page shown.
    group = page.get_by_role("group", name=starts(t("A safety plan is made")))
    group.get_by_role("radio", name=t("Done"), exact=True).check()
    group.get_by_label(t("Details (optional)")).fill("Plan besproken met het gezin")
    with page.expect_navigation():
        group.get_by_role("button", name=starts(t("Save"))).click()
    conflict = page.get_by_role("alert").inner_text()
    # In Dutch: someone else changed it, nothing of yours was applied, this is how it is now.
    assert "Iemand anders heeft dit traject intussen gewijzigd." in conflict, conflict
    assert "Uw wijziging is niet doorgevoerd." in conflict, conflict
    assert status_of(page, "Safety conditions are set") == t("done")  # Bram's change
    assert status_of(page, "A safety plan is made") == t("not done")  # not Anna's
    assert fact(page, "Version") == str(stale_version + 1)  # the fresh page
    assert group.get_by_label(t("Details (optional)")).input_value() == ""
    assert _row(live_server, trajectory_id).version == stale_version + 1
    # Made again on the fresh page, it is saved.
    tick(page, "A safety plan is made")
    complete_checklist(page, "immediate_safety")
    fire(page, "Safety established")
    assert_state(page, "risk_care")

    # -- on to the end ---------------------------------------------------------------------------
    complete_checklist(page, "risk_care")
    fire(page, "Risks addressed")
    assert_state(page, "recovery")
    complete_checklist(page, "recovery")
    fire(page, "Recovery completed")
    assert_state(page, "aftercare")
    fire(page, "Close", {"Closure reason": t("Goals met")})
    assert_state(page, "closed")
    assert t("Goals met") in page.locator("dl").inner_text()

    row = _row(live_server, trajectory_id)
    assert (row.state.value, row.closure_reason.value, row.relapses) == ("closed", "goals_met", 1)
    # The timeline tells the story, oldest first.
    timeline = page.get_by_role(
        "table", name=t("Everything that happened to this trajectory, oldest first")
    ).inner_text()
    for said in (
        "Nieuw incident gemeld door de politie",
        "Gezin tijdelijk verhuisd naar familie",
        "School is ingelicht door de intern begeleider",
        bram.username,
    ):
        assert said in timeline, said
    # Every phase was passed through.
    for state in STATE_LABELS.values():
        assert t(state) in timeline, state


def _resume(page: Any) -> None:
    """Resume with the keyboard: Tab to the button, Enter."""
    from_top(page)
    tab_to(page, t("Resume the trajectory"))
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _row(live_server: Any, trajectory_id: int) -> Trajectory:
    session = live_server.session()
    try:
        row = session.get(Trajectory, trajectory_id)
        session.expunge(row)
        return row
    finally:
        session.close()
