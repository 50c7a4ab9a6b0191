"""Statistics releases for the programme team: disclosure-controlled counts per region.

Only released figures leave here: rounded counts, suppressed cells as ``null`` with
``"status": "suppressed"``, lead times and percentages only over groups that reach the
threshold. Never a trajectory, a pseudonym or the internal suppression log.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from flask import Response, request
from marshmallow import RAISE

from mda.extensions import db
from mda.models import StatsRelease
from mda.stats import downloads, exports
from mda.stats import releases as release_service
from mda.web.api.blueprint import bp
from mda.web.api.schemas import ReleaseListQuerySchema, ReleaseSchema, ReleaseSummarySchema
from mda.web.api.security import current_actor
from mda.web.stats_labels import download_response, labels_in

TAGS = ["statistics"]
RELEASE = "/statistics/releases/<int(max=2147483647):release_id>"


def _summary(release: StatsRelease) -> dict[str, Any]:
    return {
        "id": release.id,
        "period": release.period,
        "period_type": release.period_type.value,
        "version": release.version,
        "created_at": release.created_at,
        "checksum": release.checksum,
    }


@bp.route("/statistics/releases", methods=["GET"], endpoint="list_releases")
@bp.arguments(ReleaseListQuerySchema, location="query", unknown=RAISE)
@bp.response(200, ReleaseSummarySchema(many=True))
@bp.doc(tags=TAGS)
def list_releases(query: dict[str, Any]) -> list[dict[str, Any]]:
    """List statistics releases

    Every release, newest period first and newest version first. The programme team.
    """
    rows = release_service.list_releases(db.session, current_actor(), period=query.get("period"))
    return [_summary(r) for r in rows]


@bp.route(RELEASE, methods=["GET"], endpoint="get_release")
@bp.response(200, ReleaseSchema)
@bp.doc(tags=TAGS)
def get_release(release_id: int) -> dict[str, Any]:
    """Read a statistics release

    Its tables, each with `name`, `title`, `dimensions` (`region` first) and `cells`
    (`{"coords": {...}, "value": 15}`); a margin is the value `_total` (`region: _total` is
    national); a suppressed cell is `"value": null, "status": "suppressed"`. Counts are
    rounded to the release's `rounding_base`; every total is the sum of the cells it totals
    before rounding. The programme team.
    """
    release = release_service.get_release(db.session, current_actor(), release_id)
    return {
        **_summary(release),
        "settings": release.content["settings"],
        "tables": release.content["tables"],
    }


def download_language() -> str | None:
    """The download's language: ``Accept-Language`` nl or en; None (no header, or another
    language): the release's own file, in the contract's names."""
    # English first, as for the API's messages: ``*`` is English.
    return request.accept_languages.best_match(("en", "nl"))


def _download(release_id: int, fmt: str) -> Response:
    language = download_language()
    with labels_in(language) if language else nullcontext(exports.CODES) as labels:
        release, found = downloads.release_download(
            db.session, current_actor(), release_id, fmt, labels
        )
    return download_response(release, found, fmt, language)


@bp.route(f"{RELEASE}.csv", methods=["GET"], endpoint="release_csv")
@bp.response(200, content_type="text/csv")
@bp.doc(tags=TAGS)
def release_csv(release_id: int) -> Response:
    """Download a statistics release as CSV

    One row per cell (table, region, up to three further dimensions, value, status);
    guarded against spreadsheet formulas. Without `Accept-Language` (or with a language
    other than `nl` and `en`) the release's own file, in the contract's names
    (`veilig_thuis`, `_total`, `suppressed`); with `Accept-Language: nl` or `en` the file in
    that language: its headers, dimension names and values, totals and statuses as the pages
    say them (the `table` column keeps the table's name). Each is built once and kept: the
    `Digest` header is its SHA-256. Written to the access log. The programme team.
    """
    return _download(release_id, "csv")


@bp.route(f"{RELEASE}.xlsx", methods=["GET"], endpoint="release_xlsx")
@bp.response(
    200,
    content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
@bp.doc(tags=TAGS)
def release_xlsx(release_id: int) -> Response:
    """Download a statistics release as XLSX

    One sheet per table and one describing the release and listing the tables' titles. The
    language as for the CSV (`Accept-Language`). Written to the access log. The programme
    team.
    """
    return _download(release_id, "xlsx")
