"""The coordinator's working day: worklist, registration, look-up and the trajectory page.

Coordinators only. Every other role gets the product's 403, and the attempt is logged as a
``denied`` access by the authorisation service (naming the trajectory when the URL does).
"""

from __future__ import annotations

from flask import Blueprint, current_app, request
from flask_login import current_user

from mda.extensions import db
from mda.services.authz import require_trajectory_access
from mda.services.uow import unit_of_work
from mda.vocabulary import AccessAction, Role
from mda.web.security import current_actor

bp = Blueprint("trajectories", __name__, template_folder="templates", url_prefix="/trajectories")


@bp.before_request
def _coordinators_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    if current_user.role is Role.COORDINATOR:
        return None  # the services check the region of each trajectory themselves
    trajectory_id = (request.view_args or {}).get("trajectory_id")
    action = AccessAction.READ if request.method == "GET" else AccessAction.CHANGE
    # The refusal carries its ``denied`` entry; the unit of work keeps it and re-raises.
    with unit_of_work(db.session):
        require_trajectory_access(current_actor(), trajectory_id, "", action)
    return None  # pragma: no cover - the call above always refuses a non-coordinator


from mda.web.trajectories import views  # noqa: E402,F401
