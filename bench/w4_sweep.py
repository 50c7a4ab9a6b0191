"""W4 reminders: due deadlines swept and delivered per second, duplicates, and the sweep's cost
as the number of future (not yet due) deadlines grows.

- Throughput: ``--due`` deadlines fall due at once (each an overdue notice to its coordinator,
  who has an e-mail address). Two sweeps run at the same time (two sessions, as two workers
  would), then every e-mail is delivered (``deliver_email`` with a mailer that only counts).
  Floor: the same writes issued directly as SQL (claim, step, notification, two deliveries,
  the row's next rung), one transaction per batch of the same size.
- Duplicates: notifications per (deadline, recipient) and messages per delivery beyond one,
  after the concurrent sweeps, a third sweep and every delivery task run a second time. Must
  be 0.
- Flat cost: the time of a sweep that finds nothing due with ``--future`` deadlines not yet due
  (10k and 100k by default; add 1000000 for the full W4), and the claim query's plan (it must
  use ``ix_deadlines_sweep``).

    python -m bench.w4_sweep --due 1000 --future 10000 100000 --backends sqlite postgresql
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from bench.support import Backend, Timer, backends, report
from mda.models import (
    Deadline,
    Delivery,
    Notification,
    NotificationSettings,
    SweepRun,
    Trajectory,
)
from mda.services.context import Actor
from mda.services.mail import DeliveryOptions, deliver_email
from mda.services.settings import Settings, use_settings
from mda.services.sweep import SweepOptions, sweep
from mda.services.users import create_user
from mda.vocabulary import Channel, DeadlineKind, Role

BATCH = 200
OPTIONS = SweepOptions(batch_size=BATCH, digest_hour=24, lease=timedelta(minutes=30))
KINDS = list(DeadlineKind)


class CountingMailer:
    """Sends nothing; counts what it was given, per key."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.lock = threading.Lock()

    def send(self, message: EmailMessage, key: str) -> None:
        with self.lock:
            self.sent[key] += 1


def _session(backend: Backend) -> Session:
    session = Session(backend.engine)
    use_settings(session, Settings())
    return session


def _people(backend: Backend) -> int:
    with _session(backend) as session:
        user = create_user(
            session, Actor.system("cli"), "w4coordinator", "w4 password long", Role.COORDINATOR,
            ["UTR"],
        )  # fmt: skip
        session.add(NotificationSettings(user_id=user.id, email="w4@example.org"))
        session.commit()
        return user.id


def _trajectories(backend: Backend, count: int, coordinator_id: int, tag: str) -> list[int]:
    """``count`` trajectory rows written directly (the bench measures deadlines, not these)."""
    now = datetime.now(UTC)
    table = cast(Table, Trajectory.__table__)
    rows = [
        {
            "pseudonym_hash": f"{tag}{i:0{64 - len(tag)}d}",
            "pseudonym": f"{tag}{i:0{16 - len(tag)}d}",
            "key_version": 1,
            "region_code": "UTR",
            "state": "screening",
            "version": 1,
            "coordinator_id": coordinator_id,
            "referral_source": "police",
            "violence_types": ["partner_violence"],
            "children": "1",
            "referred_on": now.date(),
            "created_at": now,
            "state_entered_at": now,
            "reentries": 0,
            "relapses": 0,
        }
        for i in range(count)
    ]
    with backend.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(table), rows[start : start + 5000])
        found = conn.execute(
            select(table.c.id).where(table.c.pseudonym.like(f"{tag}%")).order_by(table.c.id)
        )
        return [row[0] for row in found]


def _deadlines(backend: Backend, trajectory_ids: list[int], due: bool, per: int = 1) -> None:
    now = datetime.now(UTC)
    table = cast(Table, Deadline.__table__)
    rows = []
    for tid in trajectory_ids:
        for kind in KINDS[:per]:
            if due:  # due an hour ago: its overdue notice is the rung to deliver
                due_at = now - timedelta(hours=1)
                rows.append({"stage": 1, "due_at": due_at, "next_action_at": due_at})
            else:  # months ahead: nothing to do yet
                due_at = now + timedelta(days=60 + tid % 300)
                rows.append({"stage": 0, "due_at": due_at, "next_action_at": due_at})
            rows[-1] |= {
                "trajectory_id": tid,
                "region_code": "UTR",
                "kind": kind.value,
                "status": "open",
                "opened_at": now - timedelta(days=20),
                "escalations": 0,
                "version": 1,
            }
    with backend.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(table), rows[start : start + 5000])


def _reset(backend: Backend) -> None:
    """Forget what the last run wrote and arm the due rows again."""
    with backend.engine.begin() as conn:
        conn.execute(text("DELETE FROM deliveries"))
        conn.execute(text("DELETE FROM notifications"))
        conn.execute(text("DELETE FROM ladder_steps"))
        conn.execute(text("DELETE FROM sweep_runs"))
        conn.execute(
            text(
                "UPDATE deadlines SET stage = 1, next_action_at = due_at"
                " WHERE status = 'open' AND stage > 1"
            )
        )


# --- the floor: the same writes as plain SQL ---------------------------------------------

CLAIM = (
    "SELECT id, trajectory_id, due_at FROM deadlines WHERE status = 'open'"
    " AND next_action_at <= :now ORDER BY next_action_at, id LIMIT :n"
)


def floor(backend: Backend, coordinator_id: int) -> tuple[float, int]:
    lock = " FOR UPDATE SKIP LOCKED" if backend.name == "postgresql" else ""
    done = 0
    started = time.perf_counter()
    now = datetime.now(UTC)
    with backend.engine.connect() as conn:
        while True:
            with conn.begin():
                rows = conn.execute(text(CLAIM + lock), {"now": now, "n": BATCH}).all()
                if not rows:
                    break
                for row in rows:
                    step = conn.execute(
                        text(
                            "INSERT INTO ladder_steps (deadline_id, rung, kind, status,"
                            " scheduled_at, created_at, recipients) VALUES (:d, 1, 'overdue',"
                            " 'delivered', :due, :now, 1) RETURNING id"
                        ),
                        {"d": row.id, "due": row.due_at, "now": now},
                    ).scalar_one()
                    note = conn.execute(
                        text(
                            "INSERT INTO notifications (recipient_id, kind, deadline_id,"
                            " step_id, created_at, details) VALUES (:u, 'overdue', :d, :s,"
                            " :now, '{}') RETURNING id"
                        ),
                        {"u": coordinator_id, "d": row.id, "s": step, "now": now},
                    ).scalar_one()
                    conn.execute(
                        text(
                            "INSERT INTO deliveries (notification_id, channel, status,"
                            " created_at, due_at, attempts) VALUES (:n, 'in_app', 'sent', :now,"
                            " :due, 1), (:n, 'email', 'pending', :now, :due, 0)"
                        ),
                        {"n": note, "now": now, "due": row.due_at},
                    )
                conn.execute(
                    text("UPDATE deadlines SET stage = 2, next_action_at = :later WHERE id = :d"),
                    [{"d": row.id, "later": now + timedelta(days=5)} for row in rows],
                )
                done += len(rows)
    return time.perf_counter() - started, done


# --- the service ---------------------------------------------------------------------------


def service(backend: Backend, workers: int = 2) -> tuple[float, int, list[int]]:
    """``workers`` sweeps at once, each its own session (as separate workers would)."""
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with _session(backend) as session:
                results.append(sweep(session, OPTIONS))
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    claimed = sum(r.claimed for r in results)
    ids = sorted(i for r in results for i in r.delivery_ids)
    return elapsed, claimed, ids


def deliver_all(backend: Backend, ids: list[int], mailer: CountingMailer) -> tuple[float, int]:
    options = DeliveryOptions()
    sent = 0
    started = time.perf_counter()
    with _session(backend) as session:
        for delivery_id in ids:
            if deliver_email(session, delivery_id, mailer, options) == "sent":
                sent += 1
    return time.perf_counter() - started, sent


def duplicates(backend: Backend, mailer: CountingMailer) -> int:
    with _session(backend) as session:
        doubled = session.execute(
            select(Notification.deadline_id, Notification.recipient_id)
            .group_by(Notification.deadline_id, Notification.recipient_id)
            .having(func.count() > 1)
        ).all()
        emails = session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.channel == Channel.EMAIL)
        )
    return (
        len(doubled)
        + sum(n - 1 for n in mailer.sent.values() if n > 1)
        + (0 if emails == len(mailer.sent) else abs((emails or 0) - len(mailer.sent)))
    )


# --- flat cost ---------------------------------------------------------------------------


def idle_sweep_ms(backend: Backend, rounds: int = 15) -> Timer:
    timer = Timer()
    with _session(backend) as session:
        for _ in range(rounds):
            with timer.measure():
                result = sweep(session, OPTIONS)
            assert result.claimed == 0, "nothing should be due"
        session.execute(text("DELETE FROM sweep_runs"))
        session.commit()
    return timer


def _settle(backend: Backend) -> None:
    """Statistics and visibility after the bulk load, as a maintained database has them (else
    the timings measure autovacuum catching up, not the sweep)."""
    with backend.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            text("VACUUM ANALYZE deadlines" if backend.name == "postgresql" else "ANALYZE")
        )


def claim_plan(backend: Backend) -> str:
    now = datetime.now(UTC)
    with backend.engine.connect() as conn:
        if backend.name == "postgresql":
            rows = conn.execute(
                text("EXPLAIN " + CLAIM + " FOR UPDATE SKIP LOCKED"), {"now": now, "n": BATCH}
            ).all()
            return " | ".join(r[0].strip() for r in rows)
        rows = conn.execute(
            text("EXPLAIN QUERY PLAN " + CLAIM), {"now": now.replace(tzinfo=None), "n": BATCH}
        ).all()
        return " | ".join(str(r[-1]) for r in rows)


def run(
    backend: Backend, due: int = 1000, future: list[int] | None = None
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """W4 on one (fresh, migrated) backend: its throughput row and its flat-cost rows."""
    future = future if future is not None else [10_000, 100_000]
    throughput: list[dict[str, object]] = []
    flat: list[dict[str, object]] = []
    coordinator = _people(backend)
    due_ids = _trajectories(backend, due, coordinator, "D")
    _deadlines(backend, due_ids, due=True)

    floor_s, floor_n = floor(backend, coordinator)
    _reset(backend)
    sweep_s, claimed, ids = service(backend)
    mailer = CountingMailer()
    deliver_s, sent = deliver_all(backend, ids, mailer)
    # Everything again: a third sweep finds nothing, each task run twice sends nothing.
    _again, again_claimed, _ids = service(backend, workers=1)
    deliver_all(backend, ids, mailer)
    throughput.append(
        {
            "backend": backend.name,
            "due": due,
            "swept/s (2 sweeps)": claimed / sweep_s,
            "floor/s": floor_n / floor_s,
            "ratio sweep/floor": sweep_s / floor_s * floor_n / max(claimed, 1),
            "e-mails delivered/s": sent / deliver_s if deliver_s else 0.0,
            "claimed": claimed,
            "claimed again": again_claimed,
            "sent": sent,
            "duplicates": duplicates(backend, mailer),
        }
    )
    # Flat cost: the due rows are done; add future ones step by step.
    have = 0
    for step, size in enumerate(sorted(future)):
        per = len(KINDS)
        new = -(-(size - have) // per)
        tids = _trajectories(backend, new, coordinator, f"F{step}-")
        _deadlines(backend, tids, due=False, per=per)
        have += new * per
        _settle(backend)
        timer = idle_sweep_ms(backend)
        plan = claim_plan(backend)
        flat.append(
            {
                "backend": backend.name,
                "future deadlines": have,
                "idle sweep p50 ms": timer.median * 1000,
                "idle sweep p95 ms": timer.percentile(95) * 1000,
                "uses ix_deadlines_sweep": "ix_deadlines_sweep" in plan,
                "plan": plan[:90],
            }
        )
    with _session(backend) as session:
        session.execute(text("DELETE FROM sweep_runs"))
        session.commit()
        assert session.scalar(select(func.count()).select_from(SweepRun)) == 0
    return throughput, flat


THROUGHPUT_TITLE = "W4 reminders: swept and delivered per second, duplicates (must be 0)"
FLAT_TITLE = "W4 reminders: a sweep with nothing due, as future deadlines grow (must stay flat)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--future", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    throughput: list[dict[str, object]] = []
    flat: list[dict[str, object]] = []
    with backends(args.backends) as made:
        for backend in made:
            more, rows = run(backend, args.due, args.future)
            throughput += more
            flat += rows
    report(THROUGHPUT_TITLE, throughput)
    report(FLAT_TITLE, flat)
    if any(row["duplicates"] for row in throughput):
        raise SystemExit("duplicates found")


if __name__ == "__main__":
    main()
