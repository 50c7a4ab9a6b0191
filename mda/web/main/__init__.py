"""The start page, the language switch and the health check."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

bp = Blueprint("main", __name__, template_folder="templates")


@bp.get("/")
@login_required
def index() -> str | Response:
    from mda.vocabulary import Role

    if current_user.role is Role.COORDINATOR:
        # A coordinator's day starts at the worklist.
        return redirect(url_for("trajectories.worklist"))
    if current_user.role is Role.MANAGER:
        # A manager keeps up their region: its page, or the list when they have several.
        regions = current_user.region_list
        if len(regions) == 1:
            return redirect(url_for("regions.show", code=regions[0]))
        return redirect(url_for("regions.index"))
    if current_user.role is Role.PROGRAMME:
        return redirect(url_for("regions.programme"))
    return render_template("main/index.html")


@bp.post("/language")
def language() -> Response:
    """Switch the interface language (kept in the session), then go back where the user was."""
    from mda.web.auth.views import _safe_next

    lang = request.form.get("lang", "")
    if lang not in current_app.config.get("LANGUAGES", ("nl", "en")):
        abort(400, description=f"Unknown language {lang[:8]!r}.")
    session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Liveness for load balancers: answers without touching the database."""
    return {"status": "ok"}, 200
