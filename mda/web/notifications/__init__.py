"""Notifications: the bell on every page, the list (mark read, mark all read), where a person
is told (e-mail address, language, digest) and reminder health for managers and admins."""

from __future__ import annotations

from flask import Blueprint, current_app
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

bp = Blueprint("notifications", __name__, template_folder="templates", url_prefix="/notifications")


@bp.before_request
def _signed_in_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    return None


@bp.app_context_processor
def bell() -> dict[str, object]:
    """The bell's unread count on every page, asked only when a page shows the bell."""

    def unread_notifications() -> int:
        from mda.extensions import db
        from mda.services.notifications import unread_count
        from mda.web.security import current_actor

        if not current_user.is_authenticated:
            return 0
        try:
            return unread_count(db.session, current_actor())
        except SQLAlchemyError:
            # An error page rendered because the database failed must still render.
            return 0

    return {"unread_notifications": unread_notifications}


from mda.web.notifications import views  # noqa: E402,F401
