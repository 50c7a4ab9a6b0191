from __future__ import annotations

from datetime import datetime

from flask import Response, render_template, request
from flask_babel import format_datetime

from mda.extensions import db
from mda.services import audit_query
from mda.services.errors import ValidationError
from mda.vocabulary import AccessAction
from mda.web.audit import bp
from mda.web.i18n import error_text
from mda.web.security import current_actor

FILTER_FIELDS = ("username", "trajectory_id", "action", "date_from", "date_to")


def _filters() -> audit_query.AccessLogFilter:
    return audit_query.AccessLogFilter.parse(**{k: request.args.get(k) for k in FILTER_FIELDS})


@bp.get("/access-log")
def access_log():
    args = {k: request.args.get(k, "") for k in FILTER_FIELDS}
    error = None
    try:
        filters = _filters()
    except ValidationError as exc:
        error = error_text(exc)
        filters = audit_query.AccessLogFilter()
    page = request.args.get("page", "1")
    number = int(page) if page.isascii() and page.isdigit() and len(page) < 7 else 1
    result = audit_query.search_access_log(db.session, current_actor(), filters, number)
    return render_template(
        "audit/access_log.html",
        result=result,
        args=args,
        error=error,
        actions=list(AccessAction),
        format_datetime=format_datetime,
    ), (422 if error else 200)


@bp.get("/access-log.csv")
def access_log_csv():
    filters = _filters()
    text = audit_query.export_access_log(db.session, current_actor(), filters)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Response(
        text,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="access-log-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )
