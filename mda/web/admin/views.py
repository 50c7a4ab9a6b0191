from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from wtforms import SelectChoice

from mda.extensions import db
from mda.services import admin as admin_service
from mda.services import calendar_days as calendar_service
from mda.services import users as user_service
from mda.services.errors import ValidationError
from mda.web.admin import bp
from mda.web.admin.forms import (
    UNIT_LABELS,
    ActionForm,
    CalendarDayForm,
    DeadlineRuleForm,
    OrganisationForm,
    UserForm,
)
from mda.web.i18n import error_text
from mda.web.security import current_actor, no_store

# --- users ------------------------------------------------------------------------------


@bp.get("/users")
def users():
    rows = user_service.list_users(db.session, current_actor())
    return render_template("admin/users.html", users=rows)


def _user_form(**kwargs) -> UserForm:
    form = UserForm(**kwargs)
    form.fill_choices(
        admin_service.region_choices(db.session),
        admin_service.list_organisations(db.session, current_actor()),
    )
    return form


def _organisation_id(form: UserForm) -> int | None:
    value = form.organisation_id.data
    # The choices are ids; anything else (including "²", a digit to str.isdigit) is none.
    return int(value) if value and value.isascii() and value.isdigit() else None


def _field_errors(form, exc: ValidationError) -> None:
    """Put a service's field messages next to the fields they concern, and flash the whole."""
    for name in exc.details:
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), error_text(exc)]
    flash(error_text(exc), "error")


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = _user_form()
    del form.active
    if form.validate_on_submit():
        try:
            created = user_service.invite_user(
                db.session,
                current_actor(),
                form.username.data or "",
                form.role.data or "",
                form.regions.data or [],
                _organisation_id(form),
            )
        except ValidationError as exc:
            _field_errors(form, exc)
        else:
            # The one-time password is on this response only: no redirect, no flash, no cache.
            no_store()
            return render_template(
                "admin/one_time_password.html",
                user=created.user,
                password=created.one_time_password,
                created=True,
            )
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):
    user = user_service.get_user(db.session, current_actor(), user_id)
    form = _user_form(
        data={
            "username": user.username,
            "role": user.role.value,
            "regions": user.region_list,
            "organisation_id": str(user.organisation_id or ""),
            "active": user.active,
        }
    )
    form.username.render_kw = {"readonly": True}
    if form.validate_on_submit():
        try:
            user_service.update_user(
                db.session,
                current_actor(),
                user.id,
                form.role.data or "",
                form.regions.data or [],
                bool(form.active.data),
                _organisation_id(form),
            )
        except ValidationError as exc:
            _field_errors(form, exc)
        else:
            flash(_("The account %(name)s has been saved.", name=user.username), "info")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user, action=ActionForm())


@bp.post("/users/<int:user_id>/reset-password")
def user_reset_password(user_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    user = user_service.get_user(db.session, current_actor(), user_id)
    password = user_service.reset_password(db.session, current_actor(), user.id)
    no_store()
    return render_template(
        "admin/one_time_password.html", user=user, password=password, created=False
    )


@bp.post("/users/<int:user_id>/reset-second-factor")
def user_reset_second_factor(user_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    user = user_service.reset_second_factor(db.session, current_actor(), user_id)
    flash(
        _(
            "The second factor of %(name)s has been removed; they set it up again.",
            name=user.username,
        ),
        "info",
    )
    return redirect(url_for("admin.user_edit", user_id=user.id))


# --- organisations ----------------------------------------------------------------------


def _organisation_form(**kwargs) -> OrganisationForm:
    form = OrganisationForm(**kwargs)
    form.region_code.choices = [SelectChoice("", "—")] + [
        SelectChoice(code, name) for code, name in admin_service.region_choices(db.session)
    ]
    return form


@bp.route("/organisations", methods=["GET", "POST"])
def organisations():
    rows = admin_service.list_organisations(db.session, current_actor())
    form = _organisation_form()
    if form.validate_on_submit():
        try:
            admin_service.save_organisation(
                db.session,
                current_actor(),
                form.name.data or "",
                form.kind.data,
                form.region_code.data,
                bool(form.active.data),
            )
        except ValidationError as exc:
            _field_errors(form, exc)
        else:
            flash(_("The organisation has been added."), "info")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisations.html", organisations=rows, form=form)


@bp.route("/organisations/<int:organisation_id>", methods=["GET", "POST"])
def organisation_edit(organisation_id: int):
    organisation = admin_service.get_organisation(db.session, current_actor(), organisation_id)
    form = _organisation_form(
        data={
            "name": organisation.name,
            "kind": organisation.kind or "",
            "region_code": organisation.region_code or "",
            "active": organisation.active,
        }
    )
    if form.validate_on_submit():
        try:
            admin_service.save_organisation(
                db.session,
                current_actor(),
                form.name.data or "",
                form.kind.data,
                form.region_code.data,
                bool(form.active.data),
                organisation_id=organisation.id,
            )
        except ValidationError as exc:
            _field_errors(form, exc)
        else:
            flash(_("The organisation has been saved."), "info")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", form=form, organisation=organisation)


# --- deadline rules ---------------------------------------------------------------------


@bp.get("/deadline-rules")
def deadline_rules():
    rules = admin_service.list_deadline_rules(db.session, current_actor())
    return render_template("admin/deadline_rules.html", rules=rules, unit_labels=UNIT_LABELS)


@bp.route("/deadline-rules/<kind>", methods=["GET", "POST"])
def deadline_rule_edit(kind: str):
    rule = admin_service.get_deadline_rule(db.session, current_actor(), kind)
    form = DeadlineRuleForm(
        data={
            "amount": rule.amount,
            "unit": rule.unit.value,
            "remind_before_working_days": rule.remind_before_working_days,
            "remind_before_hours": rule.remind_before_hours,
            "escalate_after_working_days": rule.escalate_after_working_days,
            "repeat_every_working_days": rule.repeat_every_working_days,
            "enabled": rule.enabled,
        }
    )
    if form.validate_on_submit():
        try:
            admin_service.update_deadline_rule(
                db.session,
                current_actor(),
                rule.kind.value,
                form.amount.data,
                form.unit.data,
                form.remind_before_working_days.data,
                form.escalate_after_working_days.data,
                form.repeat_every_working_days.data,
                bool(form.enabled.data),
                remind_before_hours=form.remind_before_hours.data,
            )
        except ValidationError as exc:
            _field_errors(form, exc)
        else:
            flash(_("The deadline rule has been saved."), "info")
            return redirect(url_for("admin.deadline_rules"))
    return render_template("admin/deadline_rule_form.html", form=form, rule=rule)


# --- working-day calendar ---------------------------------------------------------------


@bp.route("/calendar", methods=["GET", "POST"])
def calendar_days():
    rows = calendar_service.list_calendar_days(db.session, current_actor())
    form = CalendarDayForm()
    if form.validate_on_submit():
        try:
            calendar_service.add_calendar_day(
                db.session, current_actor(), form.day.data, form.name.data or ""
            )
        except ValidationError as exc:
            _field_errors(form, exc)
        else:
            flash(_("The day has been added to the calendar."), "info")
            return redirect(url_for("admin.calendar_days"))
    return render_template("admin/calendar_days.html", days=rows, form=form, action=ActionForm())


@bp.post("/calendar/<day>/remove")
def calendar_day_remove(day: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        abort(404)
    calendar_service.remove_calendar_day(db.session, current_actor(), parsed)
    flash(_("The day has been removed from the calendar."), "info")
    return redirect(url_for("admin.calendar_days"))
