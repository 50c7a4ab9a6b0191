"""The privacy officer's pages: the access log, filtered and exported. Auditors only."""

from __future__ import annotations

from flask import Blueprint, current_app
from flask_login import current_user

from mda.services.authz import require_role
from mda.vocabulary import Role
from mda.web.security import current_actor

bp = Blueprint("audit", __name__, template_folder="templates", url_prefix="/audit")


@bp.before_request
def _auditors_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    require_role(current_actor(), Role.AUDITOR)
    return None


from mda.web.audit import views  # noqa: E402,F401
