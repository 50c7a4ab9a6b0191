"""mda: workflow and case-tracking engine for MDA++ coordination."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

__version__ = "0.1.0"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app: settings class, then ``MDA_*`` environment, then ``config``.

    In the embedded default (``MDA_ENV`` unset) the instance folder holds the SQLite database,
    the Celery broker and the generated secrets; production takes them from the environment and
    refuses to start without them.
    """
    from config import check_required, load_settings
    from mda import secrets as instance_secrets

    settings = load_settings(overrides=config)
    instance_path = instance_folder(settings)
    settings["INSTANCE_PATH"] = instance_path

    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.from_mapping(settings)

    if settings["ENV_NAME"] in ("embedded", "development"):
        # Makes the folder 0700 (or tightens it) before any secret or database is in it.
        instance_secrets.fill_embedded_defaults(app.config, instance_path)
    check_required(app.config)
    _check_workflow_settings(app)

    from mda.web import hardening

    hardening.init_app(app)  # before the blueprints: their rules take the bounded int converter
    from mda.dbtools import install_log_scrubber

    install_log_scrubber()  # no row of free text from a database error in any log
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)

    if app.config.get("AUTO_UPGRADE"):
        from mda.dbtools import upgrade_database

        upgrade_database(app)
    return app


def instance_folder(settings: dict[str, Any]) -> str:
    """The instance folder's absolute path: ``MDA_INSTANCE_PATH``, else ``./instance``."""
    path = settings.get("INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
    return str(Path(path).resolve())


def _check_workflow_settings(app: Flask) -> None:
    from config import ConfigError
    from mda.services.trajectories import screening_rule

    try:
        screening_rule(app.config)
    except ValueError as exc:
        raise ConfigError(f"MDA_SCREENING_*: {exc}") from None


def _init_extensions(app: Flask) -> None:
    from mda.extensions import babel, csrf, db, login_manager
    from mda.web.i18n import select_locale
    from worker import celery_init_app

    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    celery_init_app(app)


def _register_blueprints(app: Flask) -> None:
    from mda.web import register_blueprints

    register_blueprints(app)


def _register_cli(app: Flask) -> None:
    from mda.cli import register_flask_cli

    register_flask_cli(app)
