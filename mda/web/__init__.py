"""Web layer: one blueprint package per feature; views parse, call a service, render."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from mda.web import errors
    from mda.web.auth import bp as auth_bp
    from mda.web.main import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    errors.register(app)

    from mda.web import i18n, security
    from mda.web.account import bp as account_bp
    from mda.web.admin import bp as admin_bp
    from mda.web.audit import bp as audit_bp
    from mda.web.regions import bp as regions_bp
    from mda.web.trajectories import bp as trajectories_bp

    app.register_blueprint(account_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(trajectories_bp)
    app.register_blueprint(regions_bp)
    from mda.web.notifications import bp as notifications_bp

    app.register_blueprint(notifications_bp)
    from mda.web.dashboards import bp as dashboards_bp

    app.register_blueprint(dashboards_bp)
    security.init_app(app)
    i18n.init_app(app)

    from mda.web import api

    api.register(app)
