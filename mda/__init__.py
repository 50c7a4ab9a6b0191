"""mda: workflow and case-tracking engine for MDA++ coordination."""

from __future__ import annotations

import gc
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
    _check_retention_settings(app)

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
    _check_pseudonym_key_versions(app)
    return app


def freeze_loaded() -> None:
    """For a process that serves for long (gunicorn's workers, ``mda worker``), once started.

    What is loaded by then (modules, mappers, the app, the message catalogues) lives as long
    as the process. Out of the cyclic collector's sight it is not walked again by every full
    collection: those took 66-150 ms with the app loaded (each one stalling every thread of
    its process: the tail of W3's latencies under load), and take a few ms frozen. What
    requests and tasks make is collected as before.
    """
    gc.collect()
    gc.freeze()


def instance_folder(settings: dict[str, Any]) -> str:
    """The instance folder's absolute path: ``MDA_INSTANCE_PATH``, else ``./instance``."""
    path = settings.get("INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
    return str(Path(path).resolve())


def _check_workflow_settings(app: Flask) -> None:
    from config import ConfigError
    from mda.services.settings import screening_rule_from

    try:
        screening_rule_from(app.config)
    except ValueError as exc:
        raise ConfigError(f"MDA_SCREENING_*: {exc}") from None


def _check_retention_settings(app: Flask) -> None:
    from config import ConfigError
    from mda.services.retention import MINIMUM_YEARS

    for name in ("RETENTION_YEARS", "ACCESS_LOG_RETENTION_YEARS"):
        if int(app.config[name]) < MINIMUM_YEARS:
            raise ConfigError(
                f"MDA_{name} must be at least {MINIMUM_YEARS}, not {app.config[name]}"
            )


def _check_pseudonym_key_versions(app: Flask) -> None:
    """Refuse a database holding trajectories on a key version whose key is not configured.

    Runs after AUTO_UPGRADE; a database without the table yet (fresh, not migrated) holds no
    pseudonyms and passes. One that cannot be reached is left to the first request to report.
    """
    import logging

    from sqlalchemy import inspect
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import StaticPool

    from config import ConfigError
    from mda.extensions import db
    from mda.services.pseudonyms import PseudonymKeys, unconfigured_key_versions

    if not app.config.get("CHECK_PSEUDONYM_KEY_VERSIONS", True):
        return  # `mda keys status`, which must be able to show what is missing
    if not app.config.get("PSEUDONYM_KEY"):
        return  # nothing to check against; production refuses this in check_required
    try:
        keys = PseudonymKeys.from_config(app.config)
    except (RuntimeError, ValueError) as exc:
        raise ConfigError(f"MDA_PSEUDONYM_*: {exc}") from None
    engine = db.state(app).engine
    missing: list[int] = []
    try:
        with engine.connect() as connection:
            if inspect(connection).has_table("trajectories"):
                with Session(bind=connection) as session:
                    missing = unconfigured_key_versions(session, keys)
    except OperationalError:
        logging.getLogger(__name__).warning("pseudonym key versions not checked: no database")
    finally:
        if not isinstance(engine.pool, StaticPool):  # in memory: the pool is the database
            engine.dispose()  # no pooled connection left behind by start-up
    if missing:
        versions = ", ".join(str(v) for v in missing)
        raise ConfigError(
            f"The database holds trajectories under pseudonym key version(s) {versions}, "
            "whose key is not configured: add it to MDA_PSEUDONYM_OLD_KEYS "
            "(see `mda keys status` and docs/security.md)."
        )


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
