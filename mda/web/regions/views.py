"""The region page, the half-year report and the programme's overview.

Views parse a form, call one service and redirect (post/redirect/get). A change carries the
version the page was rendered at; a stale one is a conflict: nothing is applied and the fresh
page is shown with the conflict message. A refused status change shows the status machine's
unmet conditions; invalid input is shown next to its field.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mda.extensions import db
from mda.services import regions as region_service
from mda.services.errors import Conflict, TransitionRefused, ValidationError
from mda.vocabulary import BlockStatus, MdaStatus, Role
from mda.web.i18n import condition_texts, error_text
from mda.web.regions import bp
from mda.web.regions.forms import ReportForm, StatusForm, VersionForm
from mda.web.regions.labels import BLOCK_STATUS_LABELS, status_label
from mda.web.regions.viewmodel import (
    last_closed_period,
    programme_page,
    recent_periods,
    region_page,
    report_page,
)
from mda.web.security import current_actor
from mda.workflows import region as workflow


def _may_edit() -> bool:
    return bool(current_user.role is Role.MANAGER)


def _incomplete() -> None:
    flash(_("The form was incomplete or has expired. Nothing was changed."), "error")


def _conflict_region() -> None:
    flash(
        _(
            "Someone else changed this region in the meantime. Nothing of your change was "
            "applied. This is the region as it is now: make your change again if it is still "
            "needed."
        ),
        "error",
    )


# --- the manager's regions ----------------------------------------------------------------------


@bp.get("/regions")
def index() -> str:
    """The regions a manager keeps up (all 28 for an admin, to read)."""
    regions = region_service.list_regions(db.session, current_actor())
    if current_user.role is Role.MANAGER:
        mine = set(current_user.region_list)
        regions = [region for region in regions if region.code in mine]
    rows = [{"code": r.code, "name": r.name, "status": status_label(r.mda_status)} for r in regions]
    return render_template("regions/index.html", rows=rows)


# --- the region page ---------------------------------------------------------------------------


def _render_region(
    code: str,
    status_form: StatusForm | None = None,
    refused: dict[str, Any] | None = None,
    block_errors: list[str] | None = None,
    status: int = 200,
) -> Any:
    page = region_page(db.session, current_actor(), code)
    if status_form is None:
        status_form = StatusForm(formdata=None)
        status_form.fill_choices()
    status_form.version.data = page["version"]
    blocks_form = VersionForm(formdata=None, data={"version": page["version"]})
    body = render_template(
        "regions/show.html",
        r=page,
        status_form=status_form,
        blocks_form=blocks_form,
        refused=refused,
        block_errors=block_errors or [],
        block_choices=[(s.value, str(text)) for s, text in BLOCK_STATUS_LABELS.items()],
        editable=_may_edit(),
        programme=False,
    )
    return body, status


@bp.get("/regions/<code>")
def show(code: str) -> Any:
    return _render_region(code)


@bp.post("/regions/<code>/status")
def status(code: str) -> Any:
    """Move the region's MDA++ status (``status``, ``reason``, ``version``)."""
    form = StatusForm()
    form.fill_choices()
    back = url_for(".show", code=code.upper())
    if not form.validate_on_submit():
        if "version" in form.errors or "csrf_token" in form.errors:
            _incomplete()
            return redirect(back)
        return _render_region(code, status_form=form, status=422)
    target = MdaStatus(form.status.data)
    try:
        view = region_service.update_implementation(
            db.session,
            current_actor(),
            code,
            status=target.value,
            reason=form.reason.data,
            expected_version=form.version.data,
        )
    except Conflict:
        _conflict_region()
        return redirect(back)
    except TransitionRefused as exc:
        refused = {"target": status_label(target), "conditions": condition_texts(exc.unmet)}
        return _render_region(code, status_form=form, refused=refused, status=422)
    except ValidationError as exc:
        form.reason.errors = [*form.reason.errors, error_text(exc)]
        return _render_region(code, status_form=form, status=422)
    if view["version"] == form.version.data:
        flash(_("The MDA++ status was already %(status)s.", status=status_label(target)), "info")
    else:
        flash(_("The MDA++ status is now %(status)s.", status=status_label(target)), "info")
    return redirect(back + "#status")


def _posted_blocks() -> dict[int, str] | None:
    """The blocks posted: one (``block``, ``status``) or several (``blocks-N-block``, ...)."""
    form = request.form
    pairs: list[tuple[str, str]] = []
    if "block" in form:
        pairs.append((form.get("block", ""), form.get("status", "")))
    index = 0
    while f"blocks-{index}-block" in form and index < len(workflow.BLOCKS):
        pairs.append(
            (form.get(f"blocks-{index}-block", ""), form.get(f"blocks-{index}-status", ""))
        )
        index += 1
    if not pairs:
        return None
    blocks: dict[int, str] = {}
    for block, value in pairs:
        try:
            number = int(block)
        except ValueError:
            return None
        if number in blocks or value not in {s.value for s in BlockStatus}:
            return None
        blocks[number] = value
    return blocks


@bp.post("/regions/<code>/blocks")
def blocks(code: str) -> Any:
    """Set building blocks, one (``block``, ``status``) or several together; with ``version``."""
    form = VersionForm()
    back = url_for(".show", code=code.upper())
    if not form.validate_on_submit():
        _incomplete()
        return redirect(back)
    posted = _posted_blocks()
    if posted is None:
        message = _("Choose a status for each building block.")
        return _render_region(code, block_errors=[message], status=422)
    try:
        view = region_service.update_implementation(
            db.session,
            current_actor(),
            code,
            blocks=posted,
            expected_version=form.version.data,
        )
    except Conflict:
        _conflict_region()
        return redirect(back)
    except TransitionRefused as exc:
        conditions = condition_texts(exc.unmet)
        return _render_region(code, block_errors=conditions, status=422)
    except ValidationError as exc:
        return _render_region(code, block_errors=[error_text(exc)], status=422)
    if view["version"] == form.version.data:
        flash(_("Nothing changed: the building blocks were already so."), "info")
    else:
        flash(_("The building blocks are saved."), "info")
    return redirect(back + "#blocks")


# --- the half-year report ---------------------------------------------------------------------


def _report_page(code: str, period: str) -> dict[str, Any]:
    try:
        return report_page(db.session, current_actor(), code, period)
    except ValidationError:
        # A malformed period, or one outside 2015-H1 .. the current half year: no such page.
        abort(404)


@bp.route("/regions/<code>/reports/<period>", methods=["GET", "POST"])
def report(code: str, period: str) -> Any:
    """The half-year report: five yes/no questions; the MDA++ status comes from the history."""
    page = _report_page(code, period)
    here = url_for(".report", code=page["code"], period=period)
    form = ReportForm()
    status = 200
    if request.method == "POST":
        valid = form.validate_on_submit()
        if "version" not in request.form or "csrf_token" in form.errors:
            _incomplete()
            return redirect(here)
        if not valid:
            status = 422
        else:
            try:
                saved = region_service.upsert_report(
                    db.session,
                    current_actor(),
                    page["code"],
                    period,
                    # Never on the form: the status is the history's. One sent anyway must
                    # agree with it, or the service refuses the whole report.
                    mda_status=request.form.get("mda_status") or None,
                    expected_version=form.version.data,
                    **form.indicators(),
                )
            except Conflict:
                flash(
                    _(
                        "Someone else saved this report in the meantime. Nothing of your "
                        "answers was saved. This is the report as it is now: give your answers "
                        "again if they are still needed."
                    ),
                    "error",
                )
                return redirect(here)
            except ValidationError as exc:
                flash(error_text(exc), "error")
                status = 422
            else:
                if saved.version == 1:
                    flash(_("The report for %(period)s is saved.", period=period), "info")
                else:
                    flash(
                        _(
                            "The report for %(period)s is corrected (version %(version)d).",
                            period=period,
                            version=saved.version,
                        ),
                        "info",
                    )
                return redirect(here)
    elif page["report"] is not None:
        form.fill(page["report"])
    return (
        render_template(
            "regions/report.html", p=page, form=form, editable=_may_edit(), errors=form.errors
        ),
        status,
    )


# --- the programme's overview -------------------------------------------------------------------


@bp.get("/programme/regions")
def programme() -> Any:
    """All 28 regions, and "N of 28 regions" per status and indicator for a half year."""
    default = last_closed_period(db.session)
    period = request.args.get("period") or default
    try:
        page = programme_page(db.session, current_actor(), period)
    except ValidationError as exc:
        flash(error_text(exc), "error")
        period = default
        page = programme_page(db.session, current_actor(), period)
    return render_template(
        "regions/programme.html",
        p=page,
        periods=recent_periods(db.session),
        default_period=default,
    )


@bp.get("/programme/regions/<code>")
def programme_region(code: str) -> Any:
    """One region as its managers see it, without the forms."""
    page = region_page(db.session, current_actor(), code)
    return render_template(
        "regions/show.html",
        r=page,
        status_form=None,
        blocks_form=None,
        refused=None,
        block_errors=[],
        block_choices=[],
        editable=False,
        programme=True,
    )
