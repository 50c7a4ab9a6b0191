"""The manager's dashboard of their region and the programme's released figures."""

from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_babel import get_locale

from mda.extensions import db
from mda.stats import downloads
from mda.web.dashboards import bp
from mda.web.dashboards.viewmodel import programme_page, region_page
from mda.web.security import current_actor
from mda.web.stats_labels import download_response, labels_in


@bp.get("/dashboard/region/<code>")
def region(code: str) -> str:
    """A region's exact figures of the last 12 months; its managers only."""
    page = region_page(db.session, current_actor(), code.strip().upper())
    return render_template("dashboards/region.html", d=page)


@bp.get("/dashboard/programme")
def programme() -> str:
    """The released figures of one period (``?period=``, default the newest)."""
    page = programme_page(db.session, current_actor(), request.args.get("period"))
    return render_template("dashboards/programme.html", d=page)


@bp.get("/dashboard/programme/releases/<int(max=2147483647):release_id>.<fmt>")
def release_download(release_id: int, fmt: str) -> Response:
    """A release's CSV or XLSX in the page's language (Dutch unless English is chosen)."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    language = str(get_locale() or "nl")
    if language not in downloads.LANGUAGES:
        language = "nl"
    with labels_in(language) as labels:
        release, found = downloads.release_download(
            db.session, current_actor(), release_id, fmt, labels
        )
    # The language is the session's: the same address gives another file after the switch.
    return download_response(release, found, fmt, language, vary="Cookie")
