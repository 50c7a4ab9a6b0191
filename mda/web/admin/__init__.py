"""Functional administration: users, organisations, deadline rules. Admins only."""

from __future__ import annotations

from flask import Blueprint, current_app
from flask_login import current_user

from mda.services.authz import require_role
from mda.vocabulary import Role
from mda.web.security import current_actor

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")


@bp.before_request
def _admins_only():
    # The services check the role too; this refuses early, with the same rule, on every page.
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    require_role(current_actor(), Role.ADMIN)
    return None


from mda.web.admin import views  # noqa: E402,F401
