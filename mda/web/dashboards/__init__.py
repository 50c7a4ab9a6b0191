"""Dashboards: a manager's own region in exact figures, the programme's released figures.

A manager sees only their own region (unrounded, counts only: never a trajectory or a
pseudonym); the programme team sees released, disclosure-controlled figures only. Everyone
else gets the product's 403. The checks are the services' own (:mod:`mda.services.authz`),
made before the view runs; the functions the views call check again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from flask_login import current_user

from mda.services.authz import require_region, require_role
from mda.vocabulary import Role
from mda.web.security import current_actor

bp = Blueprint("dashboards", __name__, template_folder="templates")
PROGRAMME_ENDPOINTS = frozenset({"dashboards.programme", "dashboards.release_download"})


@bp.before_request
def _authorise() -> Any:
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    actor = current_actor()
    if request.endpoint in PROGRAMME_ENDPOINTS:
        require_role(actor, Role.PROGRAMME)
        return None
    require_role(actor, Role.MANAGER)
    code = (request.view_args or {}).get("code")
    if code is not None:
        require_region(actor, str(code).strip().upper())
    return None


import mda.web.dashboards.views  # noqa: E402,F401
