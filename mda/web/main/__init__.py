"""The start page: what a signed-in user works from."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("main", __name__, template_folder="templates")


@bp.get("/")
@login_required
def index() -> str:
    return render_template("main/index.html")


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Liveness for load balancers: answers without touching the database."""
    return {"status": "ok"}, 200
