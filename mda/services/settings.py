"""What the services need from the configuration, passed in rather than read from Flask.

A :class:`Settings` travels with the database session (``session.info["settings"]``): the app
puts its own on every session it makes (:meth:`Settings.from_config`), a script or a test puts
another, and a session without one gets the defaults of DESIGN.md. Services ask
:func:`settings_of` and never import Flask.

The clock is part of it: a use case takes ``now = settings_of(session).now()`` once and uses that
moment (and the Dutch date :func:`mda.services.clock.today_nl` of it) throughout, so a test can
set the time instead of editing rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mda.services.clock import utcnow
from mda.workflows import trajectory as workflow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mda.services.pseudonyms import PseudonymKeys

SESSION_KEY = "settings"


@dataclass(frozen=True)
class ThrottleLimits:
    """Sign-in throttling: failures allowed per account and per address within the window."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ThrottleLimits:
        default = cls()
        return cls(
            per_account=int(config.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", default.per_account)),
            per_address=int(config.get("LOGIN_MAX_FAILURES_PER_ADDRESS", default.per_address)),
            window=timedelta(
                minutes=int(
                    config.get(
                        "LOGIN_THROTTLE_WINDOW_MINUTES", default.window.total_seconds() // 60
                    )
                )
            ),
        )


def screening_rule_from(config: Mapping[str, Any]) -> workflow.ScreeningRule:
    """The inclusion rule from the ``MDA_SCREENING_*`` settings, defaults as DESIGN.md."""
    default = workflow.DEFAULT_SCREENING_RULE
    return workflow.ScreeningRule.from_settings(
        config.get("SCREENING_REQUIRED", default.required),
        config.get("SCREENING_OTHERS", default.others),
        int(config.get("SCREENING_MIN_OTHERS", default.min_others)),
    )


@dataclass(frozen=True)
class Settings:
    """The settings a use case may need; every field has the default of DESIGN.md."""

    screening_rule: workflow.ScreeningRule = workflow.DEFAULT_SCREENING_RULE
    # None: no key configured (a script without one); registering a referral then refuses.
    pseudonym_keys: PseudonymKeys | None = None
    throttle: ThrottleLimits = field(default_factory=ThrottleLimits)
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """The settings of an app's configuration (a Flask ``app.config`` or any mapping)."""
        from mda.services.pseudonyms import PseudonymKeys

        keys = PseudonymKeys.from_config(config) if config.get("PSEUDONYM_KEY") else None
        return cls(
            screening_rule=screening_rule_from(config),
            pseudonym_keys=keys,
            throttle=ThrottleLimits.from_config(config),
        )

    def now(self) -> datetime:
        """This moment by the settings' clock (timezone-aware UTC)."""
        moment = self.clock()
        if moment.tzinfo is None:
            raise ValueError("the clock gave a naive datetime; it must be timezone-aware")
        return moment

    def keys(self) -> PseudonymKeys:
        """The pseudonym keys, or a clear error when none is configured."""
        if self.pseudonym_keys is None:
            raise RuntimeError("PSEUDONYM_KEY is not set; pseudonyms cannot be made")
        return self.pseudonym_keys

    def at(self, moment: datetime) -> Settings:
        """These settings with the clock stopped at ``moment`` (for tests and replays)."""
        return replace(self, clock=lambda: moment)


DEFAULTS = Settings()


def settings_of(session: Session) -> Settings:
    """The settings the session was given, or the defaults."""
    found = session.info.get(SESSION_KEY)
    return found if isinstance(found, Settings) else DEFAULTS


def use_settings(session: Session, settings: Settings) -> Session:
    """Give ``session`` these settings (returns it, for chaining)."""
    session.info[SESSION_KEY] = settings
    return session
