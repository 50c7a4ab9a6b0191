"""The manager's dashboard of their region and the programme's released figures."""

from __future__ import annotations

from flask import render_template, request

from mda.extensions import db
from mda.web.dashboards import bp
from mda.web.dashboards.viewmodel import programme_page, region_page
from mda.web.security import current_actor


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
