"""People and trajectories for the browser tests, made through the real services (committed),
and signing in the way people do it, in Dutch or in English."""

from __future__ import annotations

import gettext
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pyotp

from mda.models import Trajectory, User
from mda.services import totp
from mda.services import trajectories as service
from mda.services.clock import today_nl
from mda.services.context import Actor
from mda.services.users import create_user
from mda.vocabulary import Role
from tests.support.factories import PASSWORD, actor, pseudonym_keys

_numbers = count(1)
TRANSLATIONS = Path(__file__).parents[2] / "mda" / "translations"
LANGUAGES = ("nl", "en")


def translator(lang: str) -> Callable[[str], str]:
    """The product's own catalogue: ``t("Worklist")`` is "Werklijst" in Dutch."""
    if lang == "en":
        return lambda text: text
    return gettext.translation("messages", localedir=str(TRANSLATIONS), languages=[lang]).gettext


@dataclass
class Person:
    id: int
    username: str
    otp: pyotp.TOTP | None = None


def person(
    live_server: Any,
    role: Role = Role.COORDINATOR,
    regions: Iterable[str] | None = None,
    *,
    second_factor: bool = False,
    username: str | None = None,
) -> Person:
    """A user through the real service (coordinators default to region UTR)."""
    if regions is None:
        regions = ("UTR",) if role in (Role.COORDINATOR, Role.MANAGER) else ()
    session = live_server.session()
    try:
        name = username or f"{role.value}.{next(_numbers)}"
        user = create_user(session, Actor.system("cli"), name, PASSWORD, role, list(regions))
        otp = None
        if second_factor:
            secret = totp.begin_enrolment(session, actor(user), user)
            otp = pyotp.TOTP(secret)
            totp.confirm_enrolment(session, actor(user), user, otp.at(time.time() - 30))
        return Person(user.id, name, otp)
    finally:
        session.close()


SIGN_IN_WORDS = {
    "nl": ("Gebruikersnaam", "Wachtwoord", "Inloggen"),
    "en": ("Username", "Password", "Sign in"),
}


def choose_language(page: Any, lang: str) -> None:
    """The language switch in the page's header (a form post; it survives signing in)."""
    if page.locator("html").get_attribute("lang") != lang:
        name = {"nl": "Nederlands", "en": "English"}[lang]
        with page.expect_navigation():
            page.get_by_role("banner").get_by_role("button", name=name).click()
        page.wait_for_function(
            f"document.documentElement && document.documentElement.lang === '{lang}'"
        )


def sign_in(page: Any, live_server: Any, who: Person, lang: str = "nl", *, code: bool = True):
    """Sign in on the sign-in page; with a second factor, also enter its code (unless told
    not to: then the page is left at the second-factor step)."""
    page.goto(f"{live_server.url}/auth/login")
    choose_language(page, lang)
    username, password, button = SIGN_IN_WORDS[lang]
    page.get_by_label(username).fill(who.username)
    page.get_by_label(password).fill(PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()
    if who.otp is not None:
        page.wait_for_url(re.compile(r"/auth/second-factor$"))
        if code:
            t = translator(lang)
            page.get_by_label(t("Code from your authenticator app")).fill(who.otp.now())
            page.get_by_role("button", name=t("Verify")).click()
            page.wait_for_url(_signed_in)
    else:
        page.wait_for_url(_signed_in)


def _signed_in(url: str) -> bool:
    """Past the sign-in pages (each role has a start page of its own)."""
    return "/auth/" not in url


# --- trajectories, driven through the services -------------------------------------------

# The workflow's main road: for each state, what is done there before the trigger that leaves.
ROAD: list[tuple[str, dict[str, bool], str]] = [
    ("referred", {}, "start_screening"),
    (
        "screening",
        {
            "multiple_life_domains": True,
            "interrelated_problems": True,
            "intergenerational": True,
            "severe_or_persistent": False,
            "needs_care_and_justice": True,
        },
        "accept",
    ),
    (
        "team_forming",
        {
            "lead_assigned": True,
            "disciplines_committed": True,
            "partners_committed": True,
            "initial_plan": True,
        },
        "form_team",
    ),
    (
        "immediate_safety",
        {
            "safety_conditions_set": True,
            "safety_plan_made": True,
            "trauma_screening_considered": True,
        },
        "safety_established",
    ),
    (
        "risk_care",
        {
            "risk_assessment_done": True,
            "plan_updated_for_risks": True,
            "perpetrator_approach_considered": True,
        },
        "risks_addressed",
    ),
    (
        "recovery",
        {
            "recovery_support_started": True,
            "trauma_treatment_decided": True,
            "goals_evaluated": True,
        },
        "recovery_completed",
    ),
    ("aftercare", {}, "close"),
]


def registered(
    live_server: Any,
    coordinator: Person,
    *,
    region: str = "UTR",
    children: str = "1",
    assign: bool = True,
    days_ago: int = 0,
    reference: str | None = None,
) -> int:
    """A referral registered through the service (state ``referred``); its id."""
    session = live_server.session()
    try:
        user = session.get(User, coordinator.id)
        today = today_nl()
        row, _ = service.register_referral(
            session,
            actor(user),
            region=region,
            reference=reference or f"BR-{next(_numbers):06d}-{time.time_ns() % 10**6}",
            referral_source="veilig_thuis",
            violence_types=["partner_violence", "child_abuse"],
            children=children,
            coordinator_id=coordinator.id if assign else None,
            keys=pseudonym_keys(),
            referred_on=today - timedelta(days=days_ago),
        )
        return row.id
    finally:
        session.close()


def drive(live_server: Any, coordinator: Person, trajectory_id: int, to: str) -> None:
    """Walk a trajectory along the main road until it is in state ``to``."""
    session = live_server.session()
    try:
        who = actor(session.get(User, coordinator.id))
        while True:
            state = session.get(Trajectory, trajectory_id).state.value
            session.expire_all()
            if state == to:
                return
            step = next((s for s in ROAD if s[0] == state), None)
            assert step is not None, f"no road from {state} to {to}"
            _, items, trigger = step
            for key, done in items.items():
                service.set_checklist_item(session, who, trajectory_id, key, done)
            if trigger == "safety_established":
                trajectory = session.get(Trajectory, trajectory_id)
                if not any(m.number == 1 for m in trajectory.measurements):
                    service.record_measurement(
                        session,
                        who,
                        trajectory_id,
                        number=1,
                        measured_on=today_nl(),
                        violence_level="moderate",
                        safety_score=6,
                    )
            service.fire_trigger(
                session,
                who,
                trajectory_id,
                trigger,
                closure_reason="goals_met" if trigger == "close" else None,
            )
            session.expire_all()
    finally:
        session.close()


def change(live_server: Any, coordinator: Person, call: Callable[[Any, Actor], Any]) -> Any:
    """Run ``call(session, actor)`` as ``coordinator`` in a session of its own."""
    session = live_server.session()
    try:
        return call(session, actor(session.get(User, coordinator.id)))
    finally:
        session.close()


def relapse(live_server: Any, coordinator: Person, trajectory_id: int) -> None:
    change(
        live_server,
        coordinator,
        lambda s, a: service.fire_trigger(s, a, trajectory_id, "relapse", incident_date=today_nl()),
    )


def day(value: date) -> str:
    """A date as the pages write it."""
    return value.strftime("%d-%m-%Y")
