from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from mda.extensions import db
from mda.services import totp
from mda.services import users as user_service
from mda.services.errors import ValidationError
from mda.web.account import bp
from mda.web.account.forms import EnrolForm, PasswordChangeForm
from mda.web.i18n import error_text
from mda.web.security import current_actor, no_store


@bp.get("/")
@login_required
def index():
    return render_template("account/index.html")


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            user_service.change_own_password(
                db.session,
                current_actor(),
                user,
                form.current_password.data or "",
                form.new_password.data or "",
            )
        except ValidationError as exc:
            flash(error_text(exc), "error")
        else:
            # The new session token signed out every other session; keep this one.
            login_user(user)
            flash(_("Your password has been changed."), "info")
            return redirect(url_for("main.index"))
    return render_template("account/password.html", form=form)


@bp.route("/second-factor", methods=["GET", "POST"])
@login_required
def second_factor():
    user = current_user._get_current_object()
    if user.totp_enabled:
        return render_template("account/second_factor_on.html")
    form = EnrolForm()
    if request.method == "POST" and user.totp_secret:
        # A wrong or mistyped code keeps the pending secret the app has just scanned.
        secret = user.totp_secret
        if form.validate_on_submit():
            try:
                totp.confirm_enrolment(db.session, current_actor(), user, form.code.data or "")
            except ValidationError as exc:
                flash(error_text(exc), "error")
            else:
                flash(_("The second factor is on. You will be asked for a code at every sign-in."))
                return redirect(url_for("account.index"))
    else:
        secret = totp.begin_enrolment(db.session, current_actor(), user)
    # The secret is on this page only while enrolment is pending; never cache it.
    no_store()
    uri = totp.provisioning_uri(secret, user.username)
    return render_template(
        "account/second_factor.html",
        form=form,
        secret=secret,
        uri=uri,
        qr_svg=totp.qr_svg(uri),
    )
