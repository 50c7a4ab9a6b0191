"""Sign-in (password, then the second factor when the account has one) and sign-out."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from werkzeug.wrappers import Response

from mda.extensions import db, login_manager
from mda.models import User
from mda.services import auth as auth_service
from mda.web.auth import bp
from mda.web.auth.forms import LoginForm, SecondFactorForm
from mda.web.security import end_session, start_session

PENDING = "pending_second_factor"
# How long a correct password waits for its code before the sign-in starts over.
PENDING_SECONDS = 300


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return auth_service.load_session_user(db.session, user_id)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: no scheme, no host, no protocol-relative '//'."""
    if not target:
        return url_for("main.index")
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return url_for("main.index")
    return target


def _throttled(exc: auth_service.ThrottledError, template: str, form) -> tuple[str, int, dict]:
    flash(
        _(
            "Too many failed sign-in attempts. Try again in %(minutes)d minute(s).",
            minutes=exc.minutes,
        ),
        "error",
    )
    body = render_template(template, form=form)
    return body, 429, {"Retry-After": str(exc.retry_after)}


def _complete(user: User, next_url: str) -> Response:
    start_session(session.get("lang"))
    login_user(user)
    return redirect(_safe_next(next_url))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = auth_service.authenticate(
                db.session,
                form.username.data or "",
                form.password.data or "",
                request.remote_addr or "",
            )
        except auth_service.ThrottledError as exc:
            return _throttled(exc, "auth/login.html", form)
        if user is None:
            flash(_("Unknown username or wrong password."), "error")
        elif user.totp_enabled:
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            session[PENDING] = {
                "user": user.get_id(),
                "at": int(time.time()),
                "next": _safe_next(request.args.get("next")),
            }
            return redirect(url_for("auth.second_factor"))
        else:
            return _complete(user, request.args.get("next") or "")
    return render_template("auth/login.html", form=form)


@bp.route("/second-factor", methods=["GET", "POST"])
def second_factor():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    pending: dict[str, Any] = session.get(PENDING) or {}
    user = None
    if pending and time.time() - pending.get("at", 0) <= PENDING_SECONDS:
        user = auth_service.load_session_user(db.session, pending.get("user", ""))
    if user is None:
        session.pop(PENDING, None)
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        try:
            ok = auth_service.verify_second_factor(
                db.session, user, form.code.data or "", request.remote_addr or ""
            )
        except auth_service.ThrottledError as exc:
            session.pop(PENDING, None)
            return _throttled(exc, "auth/second_factor.html", form)
        if ok:
            return _complete(user, pending.get("next") or "")
        flash(_("That code is not right (or was used already). Enter the current code."), "error")
    return render_template("auth/second_factor.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    # Ends every session of the account, so a copy of this cookie does not outlive sign-out.
    auth_service.sign_out(db.session, current_user._get_current_object())
    end_session()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
