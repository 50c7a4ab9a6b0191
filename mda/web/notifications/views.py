from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from mda.extensions import db
from mda.services import notifications as service
from mda.services.errors import ValidationError
from mda.vocabulary import Role
from mda.web.i18n import error_text, translate
from mda.web.notifications import bp
from mda.web.security import current_actor, role_required

PER_PAGE = 50


def _page() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 7 and int(raw) else 1


@bp.get("/")
def index():
    actor = current_actor()
    unread = request.args.get("unread") == "1"
    page = _page()
    rows, total = service.list_notifications(
        db.session, actor, unread=unread, page=page, per_page=PER_PAGE
    )
    items = []
    for row in rows:
        described = service.describe(row)
        items.append(
            {
                "row": row,
                "title": translate(described.title),
                "lines": [translate(line) for line in described.lines],
                "trajectory_id": service.trajectory_of(db.session, actor, row),
            }
        )
    return render_template(
        "notifications/index.html",
        items=items,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        unread=unread,
        format_datetime=format_datetime,
    )


@bp.post("/<int(max=2147483647):notification_id>/read")
def read(notification_id: int):
    service.mark_read(db.session, current_actor(), notification_id)
    return redirect(url_for("notifications.index", unread=request.args.get("unread")))


@bp.post("/read-all")
def read_all():
    count = service.mark_all_read(db.session, current_actor())
    flash(_("%(num)d notification(s) marked read.", num=count), "info")
    return redirect(url_for("notifications.index"))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    actor = current_actor()
    current = service.get_settings(db.session, actor)
    error = None
    if request.method == "POST":
        form = request.form
        try:
            service.update_settings(
                db.session,
                actor,
                email=form.get("email"),
                language=form.get("language") or "nl",
                email_enabled=form.get("email_enabled") == "on",
                digest_enabled=form.get("digest_enabled") == "on",
            )
        except ValidationError as exc:
            error = error_text(exc)
        else:
            flash(_("Your notification settings are saved."), "info")
            return redirect(url_for("notifications.settings"))
    return render_template(
        "notifications/settings.html",
        current=current,
        form=request.form if request.method == "POST" else None,
        error=error,
        show_digest=actor.role is Role.COORDINATOR,
    ), (422 if error else 200)


@bp.get("/health")
@role_required(Role.MANAGER, Role.ADMIN)
def health():
    interval = timedelta(seconds=float(current_app.config.get("SWEEP_INTERVAL_SECONDS", 60)))
    found = service.reminder_health(db.session, current_actor(), interval)
    return render_template(
        "notifications/health.html", health=found, format_datetime=format_datetime
    )
