"""The coordinator's worklist: the page's service (:mod:`mda.services.worklist`) as JSON.

The same query, filters, keyset cursor, authorisation and access log as the worklist page;
only the channel in the log differs (``api``).
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE

from mda.extensions import db
from mda.services.worklist import WorklistFilters, WorklistRow
from mda.services.worklist import worklist as worklist_query
from mda.web.api.blueprint import bp
from mda.web.api.schemas import WorklistPageSchema, WorklistQuerySchema
from mda.web.api.security import current_actor

TAGS = ["trajectories"]


def _item(row: WorklistRow) -> dict[str, Any]:
    return {
        "id": row.trajectory_id,
        "pseudonym": row.pseudonym,
        "region": row.region_code,
        "state": row.state.value,
        "phase": row.phase.value,
        "version": row.version,
        "coordinator": row.coordinator_name,
        "next_deadline_kind": None
        if row.next_deadline_kind is None
        else row.next_deadline_kind.value,
        "next_due_at": row.next_due_at,
        "overdue": row.overdue,
    }


@bp.route("/worklist", methods=["GET"], endpoint="worklist")
@bp.arguments(WorklistQuerySchema, location="query", unknown=RAISE)
@bp.response(200, WorklistPageSchema)
@bp.doc(tags=TAGS)
def worklist(query: dict[str, Any]) -> dict[str, Any]:
    """Your worklist

    The open trajectories of your regions, the earliest due deadline first (overdue ones
    first of all), those without an open deadline last. Filters: `state`, `phase`, `region`
    (one of yours), `mine`, `overdue`, `pseudonym` (a code or its beginning). Pages follow
    by `cursor` (the previous page's `next_cursor`; null on the last page), `per_page` at
    most 200. Coordinators only; the search and every trajectory shown are logged.
    """
    filters = WorklistFilters(
        state=query.get("state"),
        phase=query.get("phase"),
        region=query.get("region"),
        mine=bool(query.get("mine", False)),
        overdue=bool(query.get("overdue", False)),
        pseudonym=query.get("pseudonym"),
    )
    page = worklist_query(
        db.session,
        current_actor(),
        filters,
        cursor=query.get("cursor"),
        per_page=query["per_page"],
    )
    return {
        "items": [_item(row) for row in page.rows],
        "total": page.total,
        "next_cursor": page.next_cursor,
    }
