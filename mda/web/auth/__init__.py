"""Sign-in and sign-out."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates", url_prefix="/auth")

from mda.web.auth import views  # noqa: E402,F401
