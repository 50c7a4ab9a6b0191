"""Reminders end to end: a real Celery worker and beat sweep real deadline rows.

- The embedded default (``mda run``: SQLite, kombu's SQLAlchemy transport, one worker, one
  beat, supervised): a referral registered 30 working days late gives one overdue notice to
  its coordinator and one escalation to each manager, and one e-mail each (``.eml`` files),
  even though the worker is SIGKILLed in the middle of the first sweep (paused there by the
  test hook) and restarted by ``mda run``.
- Production (PostgreSQL, Redis, an SMTP server on loopback that refuses first): the same
  through a SIGKILL, then Redis stopped for several sweep intervals while a coordinator
  registers another late referral; once Redis is back every notification and e-mail arrives,
  none lost, none doubled.

The sweep runs every second here (``MDA_SWEEP_INTERVAL_SECONDS=1``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from mda.extensions import make_engine
from mda.models import (
    Delivery,
    LadderStep,
    Notification,
    NotificationSettings,
    Trajectory,
    User,
)
from mda.services import workdays
from mda.services.clock import today_nl
from mda.services.pseudonyms import PseudonymKeys
from mda.services.settings import Settings, use_settings
from mda.services.trajectories import register_referral
from mda.vocabulary import Channel, NotificationKind, Role, StepStatus
from tests.conftest import fresh_postgres_database, migrate, url_of
from tests.support import factories
from tests.support.servers import free_port, wait_for_port
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.slow

FAST = {
    "MDA_SWEEP_INTERVAL_SECONDS": "1",
    "MDA_DELIVERY_LEASE_SECONDS": "4",
    "MDA_DELIVERY_RETRY_SECONDS": "1",
    "MDA_DIGEST_HOUR": "24",  # no digests: the counts below are the ladder's only
}


def wait_until(condition: Callable[[], Any], timeout: float, what: str, log: Callable[[], str]):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}\n{log()[-6000:]}")


@dataclass(frozen=True)
class People:
    """Ids and names only: they outlive the session that made them."""

    coordinator: tuple[int, str]
    managers: tuple[tuple[int, str], ...]

    def emails(self) -> list[str]:
        return sorted(f"{name}@example.org" for _, name in (self.coordinator, *self.managers))


def seed(session: Session, keys: PseudonymKeys, reference: str, people: People | None = None):
    """A coordinator and two managers of UTR with e-mail addresses, and a referral registered
    30 working days after it reached the team. Returns the people and the trajectory's id."""
    use_settings(session, Settings(pseudonym_keys=keys))
    if people is None:
        coordinator = factories.user(session, Role.COORDINATOR, ["UTR"])
        managers = [factories.user(session, Role.MANAGER, ["UTR"]) for _ in range(2)]
        for user in (coordinator, *managers):
            session.add(NotificationSettings(user_id=user.id, email=f"{user.username}@example.org"))
        people = People(
            (coordinator.id, coordinator.username), tuple((m.id, m.username) for m in managers)
        )
        session.commit()
    coordinator = session.get_one(User, people.coordinator[0])
    trajectory, _ = register_referral(
        session,
        factories.actor(coordinator),
        region="UTR",
        reference=reference,
        referral_source="police",
        violence_types=["partner_violence"],
        children="2",
        coordinator_id=coordinator.id,
        keys=keys,
        referred_on=workdays.add_working_days(today_nl(), -30),
    )
    return people, trajectory.id


def counts(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        return {
            "notifications": sorted(
                (row.recipient_id, row.kind.value, row.deadline_id)
                for row in session.scalars(select(Notification))
            ),
            "emails": sorted(
                (row.notification_id, row.status.value)
                for row in session.scalars(
                    select(Delivery).where(Delivery.channel == Channel.EMAIL)
                )
            ),
            "steps": sorted(
                (row.deadline_id, row.rung, row.status.value)
                for row in session.scalars(select(LadderStep))
            ),
        }


def expected_notifications(people: People, deadline_ids) -> list[tuple[int, str, int]]:
    found = []
    for deadline_id in deadline_ids:
        found.append((people.coordinator[0], NotificationKind.OVERDUE.value, deadline_id))
        found += [
            (uid, NotificationKind.ESCALATION.value, deadline_id) for uid, _ in people.managers
        ]
    return sorted(found)


def deadline_of(engine: Engine, trajectory_id: int) -> int:
    from mda.models import Deadline

    with Session(engine) as session:
        return session.scalars(
            select(Deadline.id).where(Deadline.trajectory_id == trajectory_id)
        ).one()


def children_of(parent: int, command: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(next(ln for ln in status.splitlines() if ln.startswith("PPid:")).split()[1])
        if ppid == parent and argv[1:4] == [b"-m", b"mda", command.encode()]:
            found.append(int(entry.name))
    return found


# --- the embedded default ------------------------------------------------------------------


def test_embedded_mda_run_delivers_each_rung_once_through_a_worker_killed_mid_sweep(tmp_path):
    from mda import create_app
    from mda.extensions import db

    instance = tmp_path / "instance"
    pause = tmp_path / "pause"
    app = create_app({"ENV_NAME": "embedded", "INSTANCE_PATH": str(instance)})
    keys = PseudonymKeys.from_config(app.config)
    with app.app_context():
        people, trajectory_id = seed(db.session, keys, "EMB-LATE-1")
    engine = make_engine(f"sqlite:///{instance / 'mda.sqlite'}")
    deadline_id = deadline_of(engine, trajectory_id)
    pause.write_text("hold")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDA_")}
    env |= FAST | {"MDA_INSTANCE_PATH": str(instance), "MDA_SWEEP_PAUSE_FILE": str(pause)}
    log_path = tmp_path / "mda-run.log"
    with log_path.open("wb") as log:
        run = subprocess.Popen(
            [sys.executable, "-m", "mda", "run", "--port", str(free_port()), "--web-workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output() -> str:
        return log_path.read_text(errors="replace")

    try:
        reached = Path(f"{pause}.reached")
        wait_until(reached.exists, 180, "the sweep to pause mid-way", output)
        # Paused before its commit: nothing is written yet.
        assert counts(engine)["notifications"] == []
        worker = int(reached.read_text())
        assert worker in children_of(run.pid, "worker"), output()
        os.kill(worker, signal.SIGKILL)
        pause.unlink()
        wait_until(
            lambda: "worker exited with code -9" in output(), 30, "mda run to see it", output
        )
        mail = instance / "mail"
        wait_until(
            lambda: (
                len(list(mail.glob("*.eml"))) >= 3
                and all(s == "sent" for _, s in counts(engine)["emails"])
            ),
            180,
            "three e-mails",
            output,
        )
        time.sleep(4)  # a few more sweeps: nothing more may come
        found = counts(engine)
        assert found["notifications"] == expected_notifications(people, [deadline_id])
        assert len(found["emails"]) == 3 and {s for _, s in found["emails"]} == {"sent"}
        assert found["steps"] == [
            *[(deadline_id, rung, StepStatus.SKIPPED.value) for rung in range(5)],
            (deadline_id, 5, StepStatus.DELIVERED.value),
        ]
        files = sorted(mail.glob("*.eml"))
        assert len(files) == 3
        with Session(engine) as session:
            pseudonym = session.get_one(Trajectory, trajectory_id).pseudonym
        assert all(pseudonym not in f.read_text() for f in files)
        assert "mda run: worker restarted" in output()
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGINT)
            try:
                run.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
        engine.dispose()


# --- production: PostgreSQL, Redis, SMTP --------------------------------------------------


class Redis:
    """A Redis of this test's own on a fixed port, to stop and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="mda-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            pytest.skip("redis-server not found")
        self.process = subprocess.Popen(
            [
                binary,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for_port(self.port), "redis-server did not start"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # an outage, not a clean shutdown
            self.process.wait()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _process(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "mda", *argv],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.postgres
@pytest.mark.redis
def test_production_worker_and_beat_through_a_kill_and_a_redis_outage(postgres_server, tmp_path):
    engine = fresh_postgres_database(postgres_server, "mda_reminders_test")
    migrate(engine)
    keys = PseudonymKeys(1, ("p" * 48).encode())
    with Session(engine) as session:
        people, first_id = seed(session, keys, "PRD-LATE-1")
    redis = Redis()
    redis.start()
    pause = tmp_path / "pause"
    pause.write_text("hold")
    log = tmp_path / "worker.log"
    procs: list[subprocess.Popen] = []

    def output() -> str:
        return log.read_text(errors="replace") if log.exists() else ""

    with SmtpServer(refuse=1) as smtp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MDA_")}
        env |= FAST | {
            "MDA_ENV": "production",
            "MDA_DATABASE_URL": url_of(engine),
            "MDA_BROKER_URL": redis.url,
            "MDA_SECRET_KEY": "s" * 48,
            "MDA_PSEUDONYM_KEY": "p" * 48,
            "MDA_INSTANCE_PATH": str(tmp_path / "instance"),
            "MDA_SMTP_HOST": "127.0.0.1",
            "MDA_SMTP_PORT": str(smtp.port),
            "MDA_SMTP_FROM": "MDA++ <mda@example.org>",
            "MDA_SWEEP_PAUSE_FILE": str(pause),
        }
        worker_argv = [
            "worker",
            "--pool=threads",
            "--concurrency=2",
            "--without-mingle",
            "--without-gossip",
            "--hostname=reminders@%h",
        ]
        try:
            procs.append(_process(worker_argv, env, log))
            procs.append(_process(["beat"], env, log))
            reached = Path(f"{pause}.reached")
            wait_until(reached.exists, 120, "the sweep to pause mid-way", output)
            assert counts(engine)["notifications"] == []
            # SIGKILL the worker while its sweep holds the rows (FOR UPDATE), then restart it.
            os.killpg(procs[0].pid, signal.SIGKILL)
            procs[0].wait()
            pause.unlink()
            procs[0] = _process(worker_argv, env, log)
            first_deadline = deadline_of(engine, first_id)

            def delivered(n: int) -> Callable[[], bool]:
                return lambda: (
                    len(smtp.sink.received) >= n
                    and len(counts(engine)["emails"]) >= n
                    and all(s == "sent" for _, s in counts(engine)["emails"])
                )

            wait_until(delivered(3), 120, "three e-mails over SMTP", output)
            assert smtp.sink.refused == 1  # one refusal, retried

            # Redis goes away for several sweep intervals; a coordinator goes on working.
            redis.stop()
            with Session(engine) as session:
                _people, second_id = seed(session, keys, "PRD-LATE-2", people)
            time.sleep(6)
            redis.start()
            second_deadline = deadline_of(engine, second_id)
            wait_until(delivered(6), 180, "the e-mails of the outage", output)
            time.sleep(4)  # more sweeps: nothing more may come
            found = counts(engine)
            assert found["notifications"] == expected_notifications(
                people, [first_deadline, second_deadline]
            )
            assert len(found["emails"]) == 6 and {s for _, s in found["emails"]} == {"sent"}
            received = smtp.sink.by_recipient()
            assert sorted(received) == people.emails()
            assert all(len(messages) == 2 for messages in received.values())
            ids = [m["Message-ID"] for m in smtp.sink.received]
            assert len(ids) == len(set(ids)) == 6
            with Session(engine) as session:
                pseudonyms = set(session.scalars(select(Trajectory.pseudonym)))
                assert session.scalar(select(func.count()).select_from(Notification)) == 6
            for message in smtp.sink.received:
                text = message.as_string()
                assert not any(p in text for p in pseudonyms)
        finally:
            for proc in procs:
                _stop(proc)
            redis.cleanup()
            engine.dispose()
