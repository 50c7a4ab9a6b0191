"""Regional implementation: a manager's region page and half-year report, the programme's view.

Managers keep their own region's MDA++ status, building blocks and half-yearly report; admins
read those pages without forms; the programme team (and admins) read the national overview
"N of 28 regions" and each region's history. Everyone else gets the product's 403. The checks
are the services' own (:mod:`mda.services.authz`), made before a form is even read, so a
refused post learns nothing from validation; the service each view calls checks again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from flask_login import current_user

from mda.services.authz import require_region, require_role
from mda.vocabulary import Role
from mda.web.security import current_actor

bp = Blueprint("regions", __name__, template_folder="templates")


@bp.before_request
def _authorise() -> Any:
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    actor = current_actor()
    if (request.endpoint or "").startswith("regions.programme"):
        require_role(actor, Role.PROGRAMME, Role.ADMIN)
        return None
    if request.method == "POST":
        # Admins may read a region's pages; keeping them up is the region's managers' work.
        require_role(actor, Role.MANAGER)
    else:
        require_role(actor, Role.MANAGER, Role.ADMIN)
    code = (request.view_args or {}).get("code")
    if code is not None and actor.role is Role.MANAGER:
        require_region(actor, str(code).strip().upper())
    return None


import mda.web.regions.views  # noqa: E402,F401
