from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=256)]
    )
    new_password = PasswordField(
        _l("New password"),
        description=_l("At least 12 characters; a few unrelated words make a good password."),
        validators=[DataRequired(), Length(min=12, max=256)],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two new passwords differ.")),
        ],
    )
    submit = SubmitField(_l("Change password"))


class EnrolForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app"),
        validators=[
            DataRequired(),
            Regexp(r"^\s*\d{3}\s?\d{3}\s*$", message=_l("Enter the 6-digit code.")),
        ],
    )
    submit = SubmitField(_l("Switch on the second factor"))
