"""The Celery app, wired the way Flask's docs show (``celery_init_app``), plus mda's habits.

- Every task runs inside an app context; one is pushed only when none is active.
- Tasks take ids, reload what they need and are safe to run twice.
- Tasks are sent after the transaction they depend on has committed (see
  ``mda.services.uow.after_commit``), never from inside it.
- Beat only sweeps: deadlines are rows in the database, not long ETA tasks on the broker.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask, has_app_context


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            if has_app_context():
                return self.run(*args, **kwargs)
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    broker_url = app.config.get("BROKER_URL") or "memory://"
    conf: dict[str, Any] = {
        "broker_url": broker_url,
        "result_backend": app.config.get("RESULT_BACKEND"),
        "task_always_eager": bool(app.config.get("CELERY_TASK_ALWAYS_EAGER")),
        "task_eager_propagates": True,
        "task_ignore_result": False,
        "result_expires": 3600,
        # A task is acknowledged after it ran, so a worker that dies mid-task loses nothing;
        # that is why every task must be safe to run twice.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": {
            # The reminder sweep: due deadline rows become notifications (DESIGN.md 4).
            "sweep-deadlines": {
                "task": "mda.sweep",
                "schedule": float(app.config.get("SWEEP_INTERVAL_SECONDS", 60.0)),
            },
            "heartbeat": {
                "task": "mda.heartbeat",
                "schedule": float(app.config.get("SWEEP_INTERVAL_SECONDS", 60.0)),
            },
            "prune-login-attempts": {
                "task": "mda.prune_login_attempts",
                "schedule": 6 * 3600.0,
            },
            "apply-retention": {
                "task": "mda.apply_retention",
                "schedule": 24 * 3600.0,
            },
            # Releases the month and half year that closed last; idempotent, so running it
            # every few hours releases a period soon after it closes and adds a version only
            # when late changes altered its figures.
            "release-statistics": {
                "task": "mda.release_statistics",
                "schedule": 6 * 3600.0,
            },
        },
    }
    if broker_url.startswith("sqla+sqlite"):
        # kombu polls with BEGIN IMMEDIATE; wait for the lock (pysqlite's "timeout") instead
        # of failing after the default 5 s and reconnecting with back-off under load.
        conf["broker_transport_options"] = {"connect_args": {"timeout": 30}}
    if str(conf["result_backend"] or "").startswith("db+sqlite"):
        conf["database_engine_options"] = {"connect_args": {"timeout": 30}}
    celery_app.config_from_object(conf)
    celery_app.set_default()
    app.extensions["celery"] = celery_app

    # Importing the module registers the shared tasks with this app.
    import worker.tasks  # noqa: F401

    return celery_app


def declare_broker_queues(celery_app: Celery) -> list[str]:
    """Create the broker's task queues once, before the processes that share it start.

    Only kombu's SQLAlchemy transport (the embedded default's broker) needs this: it creates
    its tables and each queue's row on first use, guarded by a thread lock only, so a worker
    and beat starting together race ("table kombu_queue already exists", "UNIQUE constraint
    failed: kombu_queue.name"). Once the tables and rows exist, first use only reads them.
    Other brokers declare atomically; for them this does nothing. Returns the queues declared.
    """
    if not str(celery_app.conf.broker_url or "").startswith(("sqla+", "sqlalchemy+")):
        return []
    declared = []
    with celery_app.connection_for_write() as connection:
        channel = connection.default_channel  # opens the engine: creates the tables
        for queue in celery_app.amqp.queues.values():
            queue.bind(channel).declare()  # exchange, queue row and binding
            declared.append(queue.name)
    return declared
