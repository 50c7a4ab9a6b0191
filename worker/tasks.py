"""Celery tasks: thin wrappers that take ids, call a service and are safe to run twice."""

from __future__ import annotations

import logging
import socket

from celery import shared_task
from flask import current_app

from mda.extensions import db
from mda.models import utcnow
from mda.services import retention, system

logger = logging.getLogger(__name__)


@shared_task(name="mda.ping")
def ping(token: str) -> dict[str, str]:
    """Echo ``token`` with the worker's host name: proves the broker and a worker are alive."""
    return {"token": token, "worker": socket.gethostname(), "at": utcnow().isoformat()}


@shared_task(name="mda.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Record that beat and a worker are running (shown as reminder health); idempotent."""
    return system.record_heartbeat(db.session, f"worker@{socket.gethostname()}").isoformat()


@shared_task(name="mda.prune_login_attempts", ignore_result=True)
def prune_login_attempts() -> int:
    """Drop sign-in attempts past their retention (MDA_LOGIN_ATTEMPT_RETENTION_DAYS)."""
    config = current_app.config
    return system.prune_login_attempts(
        db.session,
        retention_days=int(config["LOGIN_ATTEMPT_RETENTION_DAYS"]),
        throttle_window_minutes=int(config["LOGIN_THROTTLE_WINDOW_MINUTES"]),
    )


@shared_task(name="mda.apply_retention", ignore_result=True)
def apply_retention() -> dict[str, int]:
    """Reduce closed trajectories past MDA_RETENTION_YEARS and delete access-log rows past
    MDA_ACCESS_LOG_RETENTION_YEARS; batch-wise and idempotent."""
    config = current_app.config
    result = retention.run_retention(
        db.session,
        retention_years=int(config["RETENTION_YEARS"]),
        access_log_years=int(config["ACCESS_LOG_RETENTION_YEARS"]),
    )
    return {
        "trajectories": result.trajectories,
        "events": result.events,
        "access_log": result.access_log,
    }


@shared_task(name="mda.release_statistics", ignore_result=True)
def release_statistics() -> list[dict[str, object]]:
    """Release the last closed month and half year (DESIGN.md section 7); idempotent: the
    same data gives the same release and no new version."""
    from mda.services.context import Actor
    from mda.services.settings import settings_of
    from mda.stats.disclosure import DisclosureRefused, DisclosureSettings
    from mda.stats.releases import closed_periods, make_release, single_release_run

    settings = DisclosureSettings.from_config(current_app.config)
    made: list[dict[str, object]] = []
    with single_release_run(db.session) as alone:
        if not alone:
            logger.info("statistics release skipped: another release run is still under way")
            return made
        for period in closed_periods(settings_of(db.session).now()):
            try:
                release, new = make_release(
                    db.session, Actor.system("worker"), period, settings=settings
                )
            except DisclosureRefused as refused:
                # Nothing is published; the refusal names no cell value, only how many.
                logger.error("statistics release %s refused by the audit: %s", period, refused)
                continue
            made.append(
                {"period": period, "id": release.id, "version": release.version, "new": new}
            )
    return made


@shared_task(name="mda.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    """Sweep the due deadlines once (beat, every MDA_SWEEP_INTERVAL_SECONDS); any number of
    these may run at once (rows are claimed with SKIP LOCKED) and a repeat sends nothing twice."""
    from mda.services.sweep import SweepOptions
    from mda.services.sweep import sweep as run_sweep

    options = SweepOptions.from_config(current_app.config, worker=socket.gethostname())
    result = run_sweep(db.session, options, dispatch=dispatch_delivery)
    return {
        "claimed": result.claimed,
        "notifications": result.notifications,
        "skipped": result.skipped,
        "dispatched": result.dispatched,
    }


def dispatch_delivery(delivery_id: int) -> None:
    """Send the delivery task for one id (after the sweep's commit); fails fast when the
    broker is away (the sweep dispatches it again later)."""
    deliver.apply_async(
        args=[delivery_id],
        retry=True,
        retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.5},
    )


@shared_task(name="mda.deliver", ignore_result=True)
def deliver(delivery_id: int) -> str:
    """Send one e-mail delivery (an id): re-checked, claimed, sent once, or retried later."""
    from flask_babel import force_locale

    from mda.services.mail import DeliveryOptions, deliver_email, mailer_from_config
    from mda.web.i18n import translate

    def say(text: object, language: str) -> str:
        with force_locale(language):
            return str(translate(text))

    config = current_app.config
    return deliver_email(
        db.session,
        delivery_id,
        mailer_from_config(config, current_app.instance_path),
        DeliveryOptions.from_config(config),
        say=say,
    )
