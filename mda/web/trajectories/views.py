"""Worklist, registration, look-up and the trajectory page with one POST route per change.

Views parse a form, call one service and redirect (post/redirect/get). A change carries the
version the page was rendered at; a stale one is a conflict: nothing is applied and the fresh
page is shown with the conflict message. Invalid input is shown next to its field.

A source reference is only ever posted (registration, look-up): it never appears in a URL, a
flash message, a log line or the access log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mda.extensions import db
from mda.services import deadlines as deadline_service
from mda.services import trajectories as trajectory_service
from mda.services.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TransitionRefused,
    ValidationError,
)
from mda.vocabulary import DeadlineKind, Phase, TrajectoryState
from mda.web.diagrams import trajectory_diagram
from mda.web.i18n import choices, error_text, label
from mda.web.security import current_actor
from mda.web.trajectories import bp
from mda.web.trajectories.forms import (
    ChecklistForm,
    CoordinatorForm,
    DeadlineForm,
    FilterForm,
    LookupForm,
    MeasurementForm,
    RegisterForm,
    ReopenForm,
    ResumeForm,
    SuspendForm,
    TransferForm,
    TriggerForm,
    field_errors,
    options,
)
from mda.web.trajectories.viewmodel import (
    closure_choices,
    region_names,
    today,
    trajectory_page,
    when,
    worklist_rows,
)

PER_PAGE = 50
PER_PAGE_CHOICES = (10, 25, 50, 100)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "when": when,
        "closure_choices": closure_choices,
        "level_choices": lambda: choices("violence_level"),
    }


# --- worklist ---------------------------------------------------------------------------


def _my_regions() -> list[tuple[str, str]]:
    # The user's regions are loaded with the user (the services need them): their names are
    # there, no need to read every region.
    regions = sorted(current_user.regions, key=lambda region: region.code)
    return [(region.code, f"{region.name} ({region.code})") for region in regions]


@bp.get("/")
def worklist() -> str:
    """The open trajectories of the coordinator's regions, overdue deadlines first."""
    # The worklist service is imported here: it is the query the page stands on.
    from mda.services.worklist import WorklistFilters
    from mda.services.worklist import worklist as worklist_query

    regions = _my_regions()
    form = FilterForm(formdata=request.args)
    form.fill_choices(regions)
    several_regions = len(regions) > 1
    filters = WorklistFilters()
    if request.args and form.validate():
        filters = WorklistFilters(
            state=TrajectoryState(form.state.data) if form.state.data else None,
            phase=Phase(form.phase.data) if form.phase.data else None,
            region=(form.region.data or None) if several_regions else None,
            mine=form.mine.data == "1",
            overdue=form.overdue.data == "1",
            pseudonym=(form.pseudonym.data or "").strip() or None,
        )
    per_page = request.args.get("per_page", type=int) or PER_PAGE
    if per_page not in PER_PAGE_CHOICES:
        per_page = PER_PAGE
    cursor = request.args.get("cursor") or None
    actor = current_actor()
    try:
        page = worklist_query(db.session, actor, filters, cursor=cursor, per_page=per_page)
    except ValidationError as exc:  # a cursor from another search, or tampered with
        flash(error_text(exc), "error")
        page = worklist_query(db.session, actor, filters, per_page=per_page)
    from mda.services.settings import settings_of

    now = settings_of(db.session).now()
    rows = worklist_rows(page.rows, now)
    # The same search on the next page: the filters stay, the cursor moves on.
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "cursor" and v}
    next_url = url_for(".worklist", **args, cursor=page.next_cursor) if page.next_cursor else None
    first_url = url_for(".worklist", **args)
    return render_template(
        "trajectories/worklist.html",
        form=form,
        several_regions=several_regions,
        rows=rows,
        total=page.total,
        next_url=next_url,
        first_url=first_url if cursor else None,
        filtered=filters != WorklistFilters(),
    )


# --- registration and look-up -------------------------------------------------------------


def _attach(form: Any, exc: ValidationError) -> bool:
    """Put a service's refusal next to the fields it names; False when it names none."""
    placed = False
    for name in exc.details:
        field = getattr(form, str(name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), error_text(exc)]
            placed = True
    return placed


@bp.route("/new", methods=["GET", "POST"])
def register() -> Any:
    """Register a referred household; a known reference shows the trajectory it has."""
    form = RegisterForm()
    regions = _my_regions()
    form.fill_choices(regions)
    if request.method == "GET":
        form.referred_on.data = today(db.session)
        if len(regions) == 1:
            form.region.data = regions[0][0]
    if form.validate_on_submit():
        actor = current_actor()
        try:
            trajectory, created = trajectory_service.register_referral(
                db.session,
                actor,
                region=form.region.data or "",
                reference=form.reference.data or "",
                referral_source=form.referral_source.data or "",
                violence_types=list(form.violence_types.data or []),
                children=form.children.data or "",
                coordinator_id=actor.user_id,
                referred_on=form.referred_on.data,
            )
        except ValidationError as exc:
            if not _attach(form, exc):
                flash(error_text(exc), "error")
        except Forbidden:
            # The region chosen is not one of the coordinator's (a known reference elsewhere
            # is simply registered here: the services keep the region walls).
            flash(_("You cannot register referrals in this region."), "error")
        else:
            if created:
                flash(
                    _(
                        "The referral is registered as %(pseudonym)s.",
                        pseudonym=trajectory.pseudonym,
                    ),
                    "info",
                )
            else:
                flash(
                    _(
                        "This reference is registered already: this is its trajectory, "
                        "%(pseudonym)s. Nothing new was registered.",
                        pseudonym=trajectory.pseudonym,
                    ),
                    "info",
                )
            return redirect(url_for(".show", trajectory_id=trajectory.id))
    status = 422 if form.errors else 200
    return render_template("trajectories/register.html", form=form), status


@bp.route("/lookup", methods=["GET", "POST"])
def lookup() -> Any:
    """Find a trajectory by its reference: posted only, never in a URL."""
    form = LookupForm()
    if form.validate_on_submit():
        try:
            trajectory = trajectory_service.find_by_reference(
                db.session, current_actor(), form.reference.data or ""
            )
        except (NotFound, Forbidden):
            # One answer for "unknown" and "in another region": the wall must not leak.
            form.reference.errors = [
                _("No trajectory in your regions is registered under this reference.")
            ]
        else:
            return redirect(url_for(".show", trajectory_id=trajectory.id))
    return render_template("trajectories/lookup.html", form=form)


# --- the trajectory page --------------------------------------------------------------------


def _render(trajectory_id: int, failed: dict[str, Any] | None = None, status: int = 200):
    actor = current_actor()
    trajectory = trajectory_service.get_trajectory(db.session, actor, trajectory_id)
    view = trajectory_page(db.session, actor, trajectory)
    page = render_template(
        "trajectories/show.html",
        t=view,
        diagram=trajectory_diagram(trajectory.state),
        failed=failed or {"form": None, "errors": {}, "values": {}},
        deadline_kinds=DeadlineKind,
    )
    return page, status


@bp.get("/<int:trajectory_id>")
def show(trajectory_id: int) -> Any:
    return _render(trajectory_id)


def _change(
    trajectory_id: int,
    key: str,
    form: Any,
    call: Callable[[], Any],
    done: str,
    anchor: str,
) -> Any:
    """Run one change: redirect to the fresh page, or show the page with what went wrong."""

    def again(errors: dict[str, list[str]]) -> Any:
        values = {k: v for k, v in request.form.items() if k != "csrf_token"}
        return _render(trajectory_id, {"form": key, "errors": errors, "values": values}, 422)

    back = url_for(".show", trajectory_id=trajectory_id, _anchor=anchor)
    if not form.validate_on_submit():
        if "version" in form.errors or "csrf_token" in form.errors:
            flash(_("The form was incomplete or has expired. Nothing was changed."), "error")
            return redirect(back)
        return again(field_errors(form))
    try:
        call()
    except Conflict:
        flash(
            _(
                "Someone else changed this trajectory in the meantime. Nothing of your change "
                "was applied. This is the trajectory as it is now: make your change again if "
                "it is still needed."
            ),
            "error",
        )
        return redirect(url_for(".show", trajectory_id=trajectory_id))
    except TransitionRefused as exc:
        flash(error_text(exc), "error")
        return redirect(back)
    except ValidationError as exc:
        message = error_text(exc)
        errors = {str(name): [message] for name in exc.details if name in form._fields}
        return again(errors or {"_form": [message]})
    flash(done, "info")
    return redirect(back)


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


@bp.post("/<int:trajectory_id>/trigger")
def trigger(trajectory_id: int) -> Any:
    form = TriggerForm()
    form.fill_choices()
    name = request.form.get("trigger", "")

    def call() -> Any:
        return trajectory_service.fire_trigger(
            db.session,
            current_actor(),
            trajectory_id,
            form.trigger.data or "",
            expected_version=form.version.data,
            reason=_text(form.reason.data),
            closure_reason=form.closure_reason.data or None,
            incident_date=form.incident_date.data,
            referred_back_to=_text(form.referred_back_to.data),
        )

    done = _("Done: %(step)s.", step=label("trigger", name))
    return _change(trajectory_id, f"trigger-{name}", form, call, done, "triggers")


@bp.post("/<int:trajectory_id>/reopen")
def reopen(trajectory_id: int) -> Any:
    form = ReopenForm()

    def call() -> Any:
        return trajectory_service.reopen(
            db.session,
            current_actor(),
            trajectory_id,
            reason=_text(form.reason.data),
            expected_version=form.version.data,
        )

    return _change(
        trajectory_id, "trigger-reopen", form, call, _("The trajectory is reopened."), "triggers"
    )


@bp.post("/<int:trajectory_id>/checklist")
def checklist(trajectory_id: int) -> Any:
    form = ChecklistForm()
    item = request.form.get("item", "")

    def call() -> Any:
        return trajectory_service.set_checklist_item(
            db.session,
            current_actor(),
            trajectory_id,
            form.item.data or "",
            form.done_value(),
            _text(form.details.data),
            expected_version=form.version.data,
        )

    done = _("Saved: %(item)s.", item=label("checklist", item))
    return _change(trajectory_id, f"checklist-{item}", form, call, done, "checklist")


@bp.post("/<int:trajectory_id>/measurements")
def measurement(trajectory_id: int) -> Any:
    form = MeasurementForm()
    form.fill_choices()

    def call() -> Any:
        return trajectory_service.record_measurement(
            db.session,
            current_actor(),
            trajectory_id,
            number=form.number.data or 0,
            measured_on=form.measured_on.data,
            violence_level=form.violence_level.data or "",
            safety_score=form.safety_score.data,
            expected_version=form.version.data,
        )

    done = _("Safety measurement %(number)s is recorded.", number=form.number.data)
    return _change(trajectory_id, "measurement", form, call, done, "measurements")


@bp.post("/<int:trajectory_id>/deadlines/<int:deadline_id>")
def deadline(trajectory_id: int, deadline_id: int) -> Any:
    form = DeadlineForm()

    def call() -> Any:
        close = (
            deadline_service.meet_deadline
            if form.status.data == "met"
            else deadline_service.acknowledge_deadline
        )
        return close(
            db.session,
            current_actor(),
            deadline_id,
            _text(form.note.data),
            expected_version=form.version.data,
            trajectory_id=trajectory_id,
        )

    done = (
        _("The deadline is marked as met.")
        if request.form.get("status") == "met"
        else _("The deadline is acknowledged.")
    )
    return _change(trajectory_id, f"deadline-{deadline_id}", form, call, done, "deadlines")


@bp.post("/<int:trajectory_id>/suspend")
def suspend(trajectory_id: int) -> Any:
    form = SuspendForm()

    def call() -> Any:
        return trajectory_service.suspend(
            db.session,
            current_actor(),
            trajectory_id,
            form.reason.data or "",
            expected_version=form.version.data,
        )

    return _change(
        trajectory_id, "suspend", form, call, _("The trajectory is suspended."), "manage"
    )


@bp.post("/<int:trajectory_id>/resume")
def resume(trajectory_id: int) -> Any:
    form = ResumeForm()

    def call() -> Any:
        return trajectory_service.resume(
            db.session,
            current_actor(),
            trajectory_id,
            expected_version=form.version.data,
            reason=form.reason.data,
        )

    return _change(trajectory_id, "resume", form, call, _("The trajectory is resumed."), "manage")


@bp.post("/<int:trajectory_id>/transfer")
def transfer(trajectory_id: int) -> Any:
    form = TransferForm()
    form.region.choices = options(list(region_names(db.session).items()))
    moved: dict[str, Any] = {}

    def call() -> Any:
        moved["trajectory"] = trajectory_service.transfer(
            db.session,
            current_actor(),
            trajectory_id,
            form.region.data or "",
            expected_version=form.version.data,
        )
        return moved["trajectory"]

    answer = _change(
        trajectory_id,
        "transfer",
        form,
        call,
        _("The trajectory is transferred to region %(region)s.", region=form.region.data),
        "manage",
    )
    trajectory = moved.get("trajectory")
    if trajectory is not None and trajectory.region_code not in current_user.region_codes:
        # Handed over to a region this coordinator does not work in: back to the worklist.
        return redirect(url_for(".worklist"))
    return answer


@bp.post("/<int:trajectory_id>/coordinator")
def coordinator(trajectory_id: int) -> Any:
    form = CoordinatorForm()
    form.coordinator_id.choices = []
    form.coordinator_id.validate_choice = False
    value = request.form.get("coordinator_id", "")
    if value and not (value.isascii() and value.isdigit() and len(value) < 10):
        value = "0"  # no such user: the service refuses it in words

    def call() -> Any:
        return trajectory_service.assign_coordinator(
            db.session,
            current_actor(),
            trajectory_id,
            int(value) if value else None,
            expected_version=form.version.data,
        )

    return _change(
        trajectory_id, "coordinator", form, call, _("The coordinator is saved."), "manage"
    )
