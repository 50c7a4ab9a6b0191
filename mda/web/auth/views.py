from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from mda.extensions import db, login_manager
from mda.models import User
from mda.services import auth as auth_service
from mda.web.auth import bp
from mda.web.auth.forms import LoginForm


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return auth_service.load_session_user(db.session, user_id)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: no scheme, no host, no protocol-relative '//'."""
    if not target:
        return url_for("main.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("main.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = auth_service.authenticate(
            db.session,
            form.username.data or "",
            form.password.data or "",
            request.remote_addr or "",
        )
        if user is None:
            flash(_("Unknown username or wrong password."), "error")
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
