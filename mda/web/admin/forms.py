from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from mda.vocabulary import DueUnit, Role
from mda.web.i18n import role_label

UNIT_LABELS = {
    DueUnit.WORKING_DAYS: _l("working days"),
    DueUnit.HOURS: _l("hours"),
    DueUnit.DAYS: _l("days"),
    DueUnit.WEEKS: _l("weeks"),
    DueUnit.MONTHS: _l("months"),
}


class CheckboxList(SelectMultipleField):
    """Several choices as checkboxes: easier than a multi-select on a phone."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _role_choices() -> list[tuple[str, str]]:
    return [SelectChoice(r.value, role_label(r)) for r in Role]


class UserForm(FlaskForm):
    username = StringField(
        _l("Username"),
        description=_l("Lower-case letters, digits, '.', '_' or '-'."),
        validators=[DataRequired(), Length(min=2, max=64)],
    )
    role = SelectField(_l("Role"), validators=[DataRequired()])
    regions = CheckboxList(
        _l("Regions"), description=_l("Coordinators and managers need at least one region.")
    )
    organisation_id = SelectField(_l("Organisation"), coerce=str, validators=[Optional()])
    active = BooleanField(_l("Active (may sign in)"), default=True)
    submit = SubmitField(_l("Save"))

    def fill_choices(self, regions: list[tuple[str, str]], organisations) -> None:
        self.role.choices = _role_choices()
        self.regions.choices = [SelectChoice(code, f"{name} ({code})") for code, name in regions]
        self.organisation_id.choices = [SelectChoice("", "—")] + [
            SelectChoice(str(o.id), o.name) for o in organisations if o.active
        ]


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(min=2, max=120)])
    kind = StringField(
        _l("Kind"),
        description=_l("For example Veilig Thuis, local team, police, care provider."),
        validators=[Optional(), Length(max=40)],
    )
    region_code = SelectField(_l("Region"), validators=[Optional()])
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))


class DeadlineRuleForm(FlaskForm):
    amount = IntegerField(_l("Due after"), validators=[InputRequired(), NumberRange(1, 1000)])
    unit = SelectField(_l("Unit"), choices=[SelectChoice(u.value, UNIT_LABELS[u]) for u in DueUnit])
    remind_before_working_days = IntegerField(
        _l("Reminder (working days before due)"), validators=[InputRequired(), NumberRange(0, 60)]
    )
    remind_before_hours = IntegerField(
        _l("Reminder (hours before due, for rules counted in hours)"),
        validators=[InputRequired(), NumberRange(0, 72)],
    )
    escalate_after_working_days = IntegerField(
        _l("Escalation (working days after due)"), validators=[InputRequired(), NumberRange(0, 60)]
    )
    repeat_every_working_days = IntegerField(
        _l("Repeat escalation every (working days)"),
        validators=[InputRequired(), NumberRange(1, 60)],
    )
    enabled = BooleanField(_l("Enabled"))
    submit = SubmitField(_l("Save"))


class CalendarDayForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired()])
    name = StringField(
        _l("Name"),
        description=_l("For example: Day after Ascension Day (by decree)."),
        validators=[DataRequired(), Length(min=2, max=120)],
    )
    submit = SubmitField(_l("Add"))


class ActionForm(FlaskForm):
    """A button that changes something: carries only the CSRF token."""

    submit = SubmitField()
