"""Forms of the coordinator's pages. Field names are the API's (``region``, ``reference``,
``trigger``, ``closure_reason``, ``item``, ``done``, ``number``, ...) so a page and the API
speak one language; every change carries the ``version`` it was rendered at."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from mda.web.i18n import choices


def options(pairs: list[tuple[str, str]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms' choices."""
    return [SelectChoice(value, text) for value, text in pairs]


class CheckboxList(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class RegisterForm(FlaskForm):
    region = SelectField(_l("Region"), validators=[DataRequired()])
    reference = StringField(
        _l("Reference of the referrer"),
        description=_l(
            "The referring organisation's own file number. It is turned into a pseudonym and "
            "then forgotten: it is not stored."
        ),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    referral_source = SelectField(_l("Referred by"), validators=[DataRequired()])
    violence_types = CheckboxList(_l("Kinds of violence"), validators=[DataRequired()])
    children = RadioField(_l("Children in the household"), validators=[DataRequired()])
    referred_on = DateField(
        _l("Referral date"),
        description=_l("The day the referral reached the team (not in the future)."),
        validators=[InputRequired()],
    )

    def fill_choices(self, regions: list[tuple[str, str]]) -> None:
        self.region.choices = options(regions)
        self.referral_source.choices = options(choices("referral_source"))
        self.violence_types.choices = options(choices("violence_type"))
        self.children.choices = options(choices("children"))


class LookupForm(FlaskForm):
    reference = StringField(
        _l("Reference of the referrer"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class FilterForm(FlaskForm):
    """The worklist's filters, read from the query string (a search: no CSRF token)."""

    class Meta:
        csrf = False

    state = SelectField(_l("State"), validators=[Optional()])
    phase = SelectField(_l("Phase"), validators=[Optional()])
    region = SelectField(_l("Region"), validators=[Optional()])
    mine = SelectField(_l("Coordinator"), validators=[Optional()])
    overdue = SelectField(_l("Deadlines"), validators=[Optional()])
    pseudonym = StringField(_l("Pseudonym"), validators=[Optional(), Length(max=16)])

    def fill_choices(self, regions: list[tuple[str, str]]) -> None:
        everything = [("", str(_l("All")))]
        self.state.choices = options(everything + choices("state"))
        self.phase.choices = options(everything + choices("phase"))
        self.region.choices = options([("", str(_l("All my regions"))), *regions])
        self.mine.choices = options([("", str(_l("Everyone"))), ("1", str(_l("Only mine")))])
        self.overdue.choices = options([("", str(_l("All"))), ("1", str(_l("Overdue only")))])


class VersionForm(FlaskForm):
    """A change without input of its own (resume): the version it was rendered at."""

    version = IntegerField(validators=[InputRequired(), NumberRange(min=1)])


class TriggerForm(VersionForm):
    trigger = HiddenField(validators=[DataRequired()])
    closure_reason = SelectField(_l("Closure reason"), validators=[Optional()])
    referred_back_to = StringField(_l("Referred back to"), validators=[Optional(), Length(max=120)])
    incident_date = DateField(_l("Date of the incident"), validators=[Optional()])
    reason = TextAreaField(_l("Explanation"), validators=[Optional(), Length(max=2000)])

    def fill_choices(self) -> None:
        self.closure_reason.choices = options([("", ""), *choices("closure_reason")])


class ChecklistForm(VersionForm):
    item = HiddenField(validators=[DataRequired()])
    done = RadioField(
        choices=options([("true", "true"), ("false", "false"), ("", "")]),
        validators=[Optional()],
        validate_choice=True,
    )
    details = TextAreaField(_l("Details"), validators=[Optional(), Length(max=2000)])

    def done_value(self) -> bool | None:
        return {"true": True, "false": False}.get(self.done.data or "")


class MeasurementForm(VersionForm):
    number = IntegerField(
        _l("Measurement number"), validators=[InputRequired(), NumberRange(1, 99)]
    )
    measured_on = DateField(_l("Measured on"), validators=[InputRequired()])
    violence_level = RadioField(_l("Violence"), validators=[DataRequired()])
    safety_score = IntegerField(
        _l("Safety score (0-10, optional)"), validators=[Optional(), NumberRange(0, 10)]
    )

    def fill_choices(self) -> None:
        self.violence_level.choices = options(choices("violence_level"))


class DeadlineForm(VersionForm):
    status = SelectField(
        choices=options([("met", "met"), ("acknowledged", "acknowledged")]),
        validators=[DataRequired()],
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class ResumeForm(VersionForm):
    reason = TextAreaField(_l("Reason for resuming (optional)"), validators=[Length(max=2000)])


class SuspendForm(VersionForm):
    reason = TextAreaField(
        _l("Reason for suspending"), validators=[DataRequired(), Length(max=2000)]
    )


class TransferForm(VersionForm):
    region = SelectField(_l("New region"), validators=[DataRequired()])


class CoordinatorForm(VersionForm):
    coordinator_id = SelectField(_l("Coordinator"), validators=[Optional()])


class ReopenForm(VersionForm):
    reason = TextAreaField(_l("Explanation"), validators=[Optional(), Length(max=2000)])


def field_errors(form: FlaskForm) -> dict[str, list[str]]:
    """The form's errors by field name (the API's names), as the page shows them."""
    found: dict[str, list[str]] = {}
    for name, errors in form.errors.items():
        if isinstance(errors, list):
            found[name] = [str(e) for e in errors]
        else:  # pragma: no cover - no nested forms here
            found[name] = [str(errors)]
    return found


def posted(form: FlaskForm) -> dict[str, Any]:
    return {name: field.data for name, field in form._fields.items()}
