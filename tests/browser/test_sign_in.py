"""Sign-in as people do it, in a real browser: with and without a second factor, refused, sign
out, and an admin creating a coordinator who then signs in."""

from __future__ import annotations

import os
import re
import time
from itertools import count

import pyotp
import pytest

from mda.services import totp
from mda.services.context import Actor
from mda.services.users import create_user
from mda.vocabulary import Role
from tests.support.factories import PASSWORD, actor

pytestmark = pytest.mark.browser
_names = count(1)


def _user(live_server, role=Role.COORDINATOR, regions=("UTR",), second_factor=False):
    session = live_server.session()
    try:
        name = f"browser-{role.value}-{next(_names)}"
        user = create_user(session, Actor.system("cli"), name, PASSWORD, role, list(regions))
        otp = None
        if second_factor:
            secret = totp.begin_enrolment(session, actor(user), user)
            otp = pyotp.TOTP(secret)
            totp.confirm_enrolment(session, actor(user), user, otp.at(time.time() - 30))
        return name, otp
    finally:
        session.close()


def _sign_in(page, live_server, username, password=PASSWORD):
    page.goto(f"{live_server.url}/auth/login")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()


def _at_worklist(page, live_server, name):
    """A coordinator's day starts at the worklist, signed in under their own name."""
    page.wait_for_url(f"{live_server.url}/trajectories/")
    assert page.get_by_role("heading", name="Werklijst", exact=True).is_visible()
    assert page.get_by_role("banner").get_by_text(name, exact=True).is_visible()


def test_sign_in_and_out_without_second_factor(page, live_server):
    name, _ = _user(live_server)
    _sign_in(page, live_server, name)
    _at_worklist(page, live_server, name)
    page.get_by_role("button", name="Uitloggen").click()
    page.wait_for_url(re.compile(r"/auth/login$"))
    assert page.get_by_text("U bent uitgelogd.").is_visible()
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/auth/login")


def test_refused_sign_in(page, live_server):
    name, _ = _user(live_server)
    _sign_in(page, live_server, name, "not the right password")
    alert = page.get_by_role("alert")
    assert "Onbekende gebruikersnaam of onjuist wachtwoord." in alert.inner_text()
    assert page.url.endswith("/auth/login")


def test_sign_in_with_second_factor(page, live_server):
    name, otp = _user(live_server, second_factor=True)
    _sign_in(page, live_server, name)
    page.wait_for_url(re.compile(r"/auth/second-factor$"))
    page.get_by_label("Code uit uw authenticator-app").fill(otp.now())
    page.get_by_role("button", name="Controleren").click()
    _at_worklist(page, live_server, name)


def test_admin_creates_a_coordinator_who_then_signs_in(page, live_server, tmp_path):
    # The whole way on a phone-sized screen.
    page.set_viewport_size({"width": 390, "height": 844})
    shots = os.environ.get("MDA_SCREENSHOT_DIR") or str(tmp_path)
    admin, _ = _user(live_server, Role.ADMIN, ())
    _sign_in(page, live_server, admin)
    page.get_by_role("navigation").get_by_role("link", name="Gebruikers").click()
    page.get_by_role("link", name="Nieuwe gebruiker").click()
    page.get_by_label("Gebruikersnaam").fill("k.bakker")
    page.get_by_label("Rol").select_option("coordinator")
    page.get_by_label("Utrecht (UTR)").check()
    page.screenshot(path=os.path.join(shots, "new-user-phone.png"))
    page.get_by_role("button", name="Opslaan").click()
    one_time = page.locator("#one-time-password").inner_text().strip()
    assert len(one_time) >= 12
    page.get_by_role("button", name="Uitloggen").click()

    _sign_in(page, live_server, "k.bakker", one_time)
    page.wait_for_url(re.compile(r"/account/password$"))
    page.get_by_label("Huidig wachtwoord").fill(one_time)
    page.get_by_label("Nieuw wachtwoord", exact=True).fill("drie losse woorden hier")
    page.get_by_label("Nieuw wachtwoord nogmaals").fill("drie losse woorden hier")
    page.get_by_role("button", name="Wachtwoord wijzigen").click()
    _at_worklist(page, live_server, "k.bakker")

    # Everything within the phone's width: nothing cut off, no sideways scrolling.
    page.goto(f"{live_server.url}/account/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px screen"
    page.screenshot(path=os.path.join(shots, "account-phone.png"), full_page=True)


def test_keyboard_only_sign_in(page, live_server):
    name, _ = _user(live_server)
    page.goto(f"{live_server.url}/auth/login")
    page.get_by_label("Gebruikersnaam").focus()
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    _at_worklist(page, live_server, name)
