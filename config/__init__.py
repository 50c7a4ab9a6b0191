"""Settings classes for mda.

``create_app`` picks a class by ``MDA_ENV`` (``embedded`` when unset), then lets every
setting be overridden by an ``MDA_*`` environment variable (``MDA_DATABASE_URL`` sets
``DATABASE_URL``, and so on), then by the mapping passed to ``create_app``.

The embedded default is meant for a first run and for small teams on one machine: a SQLite
file and a SQLite-backed Celery broker in the instance folder, and secrets generated once and
kept in files in that folder (never in the database). Production takes every secret and URL
from the environment and refuses to start when one is missing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message names it."""


class BaseConfig:
    ENV_NAME = "base"
    SECRET_KEY: str | None = None
    PSEUDONYM_KEY: str | None = None
    # Older pseudonym keys kept for look-ups after a rotation, as "version:key,version:key".
    PSEUDONYM_OLD_KEYS: str | None = None
    PSEUDONYM_KEY_VERSION = 1
    DATABASE_URL: str | None = None
    BROKER_URL: str | None = None
    RESULT_BACKEND: str | None = None
    INSTANCE_PATH: str | None = None
    # Engine options for SQLAlchemy (pool sizes and the like).
    DATABASE_ECHO = False
    # Apply pending migrations when the app starts (the embedded default does).
    AUTO_UPGRADE = False

    # Sessions and cookies.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    IDLE_TIMEOUT_MINUTES = 30
    REQUIRE_SECOND_FACTOR = False
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024
    # How long an API bearer token lives (MDA_API_TOKEN_LIFETIME in seconds).
    API_TOKEN_LIFETIME = timedelta(hours=8)

    # Sign-in throttling.
    LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    LOGIN_MAX_FAILURES_PER_ADDRESS = 20
    LOGIN_THROTTLE_WINDOW_MINUTES = 15
    # Reverse proxies in front of the app whose X-Forwarded-For is trusted (0: none).
    TRUSTED_PROXIES = 0
    # Failed and successful sign-in attempts are deleted after this many days.
    LOGIN_ATTEMPT_RETENTION_DAYS = 30
    # Retention (DESIGN.md 6): closed trajectories are reduced to their coarse attributes this
    # many years after closing; access-log rows are deleted after their own period (NEN 7513:
    # 5 years). At least 1 each: the database refuses anything younger than a year.
    RETENTION_YEARS = 5
    ACCESS_LOG_RETENTION_YEARS = 5

    # Language: Dutch by default, English available.
    BABEL_DEFAULT_LOCALE = "nl"
    LANGUAGES = ("nl", "en")
    BABEL_DEFAULT_TIMEZONE = "Europe/Amsterdam"

    # Screening (building block 2): all required criteria met and at least SCREENING_MIN_OTHERS
    # of the others.
    SCREENING_REQUIRED = ("multiple_life_domains", "interrelated_problems")
    SCREENING_OTHERS = ("intergenerational", "severe_or_persistent", "needs_care_and_justice")
    SCREENING_MIN_OTHERS = 1

    # Disclosure control (DESIGN.md section 7).
    DISCLOSURE_THRESHOLD = 10
    DISCLOSURE_ROUNDING_BASE = 5
    # The narrowest range an attacker may derive for a suppressed cell (0: the threshold).
    DISCLOSURE_PROTECTION = 0

    # Celery.
    CELERY_TASK_ALWAYS_EAGER = False
    SWEEP_INTERVAL_SECONDS = 60.0

    # Reminders (DESIGN.md section 4; docs/configuration.md): the sweep's batch, the lease of a
    # dispatched e-mail task (dispatched again after it), the e-mail back-off and its limit,
    # the Amsterdam hour of the daily digest, and the address that links in e-mails start with.
    SWEEP_BATCH_SIZE = 200
    DELIVERY_LEASE_SECONDS = 300.0
    DELIVERY_RETRY_SECONDS = 60.0
    DELIVERY_MAX_ATTEMPTS = 8
    DIGEST_HOUR = 7
    PUBLIC_URL = "http://localhost:8000"
    # E-mail over SMTP when MDA_SMTP_HOST is set; otherwise each e-mail is written as an .eml
    # file in MAIL_FOLDER (default: the instance folder's mail/).
    SMTP_HOST: str | None = None
    SMTP_PORT = 25
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_FROM = "MDA++ <mda@localhost>"
    SMTP_STARTTLS = False
    SMTP_TIMEOUT = 10.0
    MAIL_FOLDER: str | None = None
    WTF_CSRF_ENABLED = True
    TESTING = False
    DEBUG = False


class EmbeddedConfig(BaseConfig):
    """One machine, no servers to install: SQLite and kombu's SQLAlchemy transport."""

    ENV_NAME = "embedded"
    AUTO_UPGRADE = True


class DevelopmentConfig(EmbeddedConfig):
    ENV_NAME = "development"
    DEBUG = True


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"  # noqa: S105
    PSEUDONYM_KEY = "testing-pseudonym-key-not-for-production"
    WTF_CSRF_ENABLED = False
    CELERY_TASK_ALWAYS_EAGER = True
    DATABASE_URL = "sqlite://"
    BROKER_URL = "memory://"


class ProductionConfig(BaseConfig):
    """PostgreSQL, Redis, gunicorn: every secret and URL comes from the environment."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    REQUIRE_SECOND_FACTOR = True
    # Without a broker Celery would fall back to an in-process "memory://" one: reminders and
    # escalations would never reach a worker. The result backend may stay unset (no code reads
    # a task's result; Celery then keeps none).
    REQUIRED = ("SECRET_KEY", "PSEUDONYM_KEY", "DATABASE_URL", "BROKER_URL")


CONFIGS: dict[str, type[BaseConfig]] = {
    "embedded": EmbeddedConfig,
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off", ""}


def config_class(name: str | None = None) -> type[BaseConfig]:
    """The settings class for ``name`` (or ``MDA_ENV``), with a clear error for a typo."""
    name = name or os.environ.get("MDA_ENV") or "embedded"
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"MDA_ENV={name!r} is not a known environment; use one of {', '.join(CONFIGS)}"
        ) from None


def _coerce(current: Any, raw: str, name: str) -> Any:
    """Turn an environment string into the type of the class default."""
    if isinstance(current, bool):
        low = raw.strip().lower()
        if low in _BOOL_TRUE:
            return True
        if low in _BOOL_FALSE:
            return False
        raise ConfigError(f"MDA_{name} must be true or false, not {raw!r}")
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"MDA_{name} must be a whole number, not {raw!r}") from None
    if isinstance(current, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"MDA_{name} must be a number, not {raw!r}") from None
    if isinstance(current, timedelta):
        try:
            return timedelta(seconds=int(raw))
        except ValueError:
            raise ConfigError(f"MDA_{name} must be a number of seconds, not {raw!r}") from None
    if isinstance(current, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def load_settings(
    env_name: str | None = None,
    overrides: dict[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Class defaults, then ``MDA_*`` environment variables, then ``overrides``."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    if overrides and "ENV_NAME" in overrides:
        env_name = overrides["ENV_NAME"]
    cls = config_class(env_name or env.get("MDA_ENV"))
    settings: dict[str, Any] = {
        key: getattr(cls, key) for key in dir(cls) if key.isupper() and not key.startswith("_")
    }
    for key, raw in env.items():
        if not key.startswith("MDA_") or key == "MDA_ENV":
            continue
        name = key[4:]
        settings[name] = _coerce(settings.get(name), raw, name)
    if overrides:
        settings.update(overrides)
    return settings


def check_required(settings: dict[str, Any]) -> None:
    """Refuse to start when a required setting is missing, naming every one of them."""
    missing = [name for name in settings.get("REQUIRED", ()) if not settings.get(name)]
    if missing:
        names = ", ".join(f"MDA_{name}" for name in missing)
        raise ConfigError(
            f"{settings['ENV_NAME']} refuses to start: missing setting(s) {names}. "
            "Set them in the environment (see docs/configuration.md)."
        )
