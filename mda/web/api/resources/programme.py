"""The programme team's implementation overview: "N of 28 regions", now and the period before."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE

from mda.extensions import db
from mda.services import regions as region_service
from mda.web.api.blueprint import bp
from mda.web.api.schemas import OverviewSchema, PeriodQuerySchema
from mda.web.api.security import current_actor


@bp.route("/programme/overview", methods=["GET"], endpoint="programme_overview")
@bp.arguments(PeriodQuerySchema, location="query", unknown=RAISE)
@bp.response(200, OverviewSchema)
@bp.doc(tags=["programme"])
def programme_overview(query: dict[str, Any]) -> dict[str, Any]:
    """Implementation overview for a half year

    Per MDA++ status and per vision indicator: how many regions (`count`), out of how many
    (`out_of`), and the count of the previous half year (`previous`, null when no region
    reported then). The programme team and admins.
    """
    return region_service.programme_overview(db.session, current_actor(), query["period"])
