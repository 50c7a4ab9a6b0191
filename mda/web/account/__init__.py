"""The signed-in user's own account: password change and second-factor enrolment."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("account", __name__, template_folder="templates", url_prefix="/account")

from mda.web.account import views  # noqa: E402,F401
