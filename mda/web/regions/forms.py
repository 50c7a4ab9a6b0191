"""Forms of the regional pages. Field names are the API's: ``status`` and ``reason`` for the
MDA++ status, ``block`` and ``status`` for a building block, the indicators by their API names
for the half-year report; every change carries the ``version`` it was rendered at."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from mda.vocabulary import REPORT_INDICATORS, MdaStatus
from mda.web.regions.labels import INDICATORS, status_label


class VersionForm(FlaskForm):
    """A change: the version of the region (or report) the page was rendered at."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=1)])


class StatusForm(VersionForm):
    status = RadioField(_l("New MDA++ status"), validators=[InputRequired()])
    reason = TextAreaField(
        _l("Reason"),
        description=_l("Needed when you lower the status. No names or other personal details."),
        validators=[Optional(), Length(max=2000)],
    )

    def fill_choices(self) -> None:
        self.status.choices = [SelectChoice(s.value, status_label(s)) for s in MdaStatus]


YES_NO = [SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))]


class ReportForm(FlaskForm):
    """The five yes/no indicators; ``version`` is empty while the report does not exist."""

    version = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(min=1)])
    vision_in_regional_plan = RadioField(
        INDICATORS["vision_in_regional_plan"][0],
        description=INDICATORS["vision_in_regional_plan"][1],
        choices=YES_NO,
        validators=[InputRequired(_l("Answer yes or no."))],
    )
    professionals_trained = RadioField(
        INDICATORS["professionals_trained"][0],
        description=INDICATORS["professionals_trained"][1],
        choices=YES_NO,
        validators=[InputRequired(_l("Answer yes or no."))],
    )
    working_by_vision = RadioField(
        INDICATORS["working_by_vision"][0],
        description=INDICATORS["working_by_vision"][1],
        choices=YES_NO,
        validators=[InputRequired(_l("Answer yes or no."))],
    )
    vision_in_procurement = RadioField(
        INDICATORS["vision_in_procurement"][0],
        description=INDICATORS["vision_in_procurement"][1],
        choices=YES_NO,
        validators=[InputRequired(_l("Answer yes or no."))],
    )
    local_teams_quality_framework_steps = RadioField(
        INDICATORS["local_teams_quality_framework_steps"][0],
        description=INDICATORS["local_teams_quality_framework_steps"][1],
        choices=YES_NO,
        validators=[InputRequired(_l("Answer yes or no."))],
    )

    def indicator_fields(self) -> list[Any]:
        return [self[name] for name in REPORT_INDICATORS]

    def indicators(self) -> dict[str, Any]:
        return {field.name: field.data == "yes" for field in self.indicator_fields()}

    def fill(self, report: Any) -> None:
        """The saved answers of ``report`` as the form's values (a fresh form)."""
        for field in self.indicator_fields():
            field.data = "yes" if getattr(report, field.name) else "no"
        self.version.data = report.version
