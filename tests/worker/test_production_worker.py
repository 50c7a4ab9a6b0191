"""The production stack's worker: a real Celery worker on Redis against PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mda import create_app
from mda.models import WorkerHeartbeat
from tests.conftest import fresh_postgres_database, migrate, url_of

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def test_worker_on_redis_runs_tasks_against_postgresql(postgres_server, redis_server, tmp_path):
    engine = fresh_postgres_database(postgres_server, "mda_worker_test")
    migrate(engine)
    settings = {
        "MDA_ENV": "production",
        "MDA_DATABASE_URL": url_of(engine),
        "MDA_BROKER_URL": redis_server.url,
        "MDA_RESULT_BACKEND": redis_server.url,
        "MDA_SECRET_KEY": "s" * 48,
        "MDA_PSEUDONYM_KEY": "p" * 48,
        "MDA_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDA_")} | settings
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mda",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "--hostname=test@%h",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        app = create_app(
            {k[4:]: v for k, v in settings.items() if k != "MDA_ENV"} | {"ENV_NAME": "production"}
        )
        celery_app = app.extensions["celery"]
        token = uuid.uuid4().hex
        assert celery_app.send_task("mda.ping", args=[token]).get(timeout=60)["token"] == token
        # The heartbeat keeps no result: wait for its row instead.
        celery_app.send_task("mda.heartbeat")
        deadline = time.monotonic() + 60
        beats: list[WorkerHeartbeat] = []
        while not beats and time.monotonic() < deadline:
            time.sleep(0.2)
            with Session(engine) as session:
                beats = list(session.scalars(select(WorkerHeartbeat)))
        assert len(beats) == 1 and beats[0].name.startswith("worker@")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            output, _ = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            output, _ = worker.communicate()
        engine.dispose()
        print(output.decode(errors="replace"))
