"""W1 transitions: trajectories driven through the whole workflow by the services.

Floor: the same writes issued directly as SQL, one transaction per step (a row update with a
version check, the event, the access-log entry, and the checklist, measurement or deadline row
the step touches). The ratio service/floor is what the ORM, the workflow, authorisation and
the identifier guard cost on top of the bare writes.

    python -m bench.w1_transitions --trajectories 200 --backends sqlite postgresql
    python -m bench.w1_transitions --trajectories 100 --backends postgresql --processes 1 2 4

``--processes`` also runs the services with 1, 2, 4, ... client processes at once, each on
trajectories of its own (the trajectories split between them), and prints the aggregate
steps/s per process count: whether throughput rises with clients (PostgreSQL's row locks
let them work side by side; SQLite has one writer at a time).
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.support import Backend, Timer, backends, progress, report
from mda import create_app, freeze_loaded
from mda.extensions import db
from mda.services import trajectories as svc
from mda.services.clock import today_nl
from mda.services.context import Actor
from mda.services.users import create_user
from mda.vocabulary import Role

CRITERIA = [
    "multiple_life_domains",
    "interrelated_problems",
    "intergenerational",
    "severe_or_persistent",
    "needs_care_and_justice",
]
TEAM = ["lead_assigned", "disciplines_committed", "partners_committed", "initial_plan"]
SAFETY = ["safety_conditions_set", "safety_plan_made", "trauma_screening_considered"]
RISK = ["risk_assessment_done", "plan_updated_for_risks", "perpetrator_approach_considered"]
RECOVERY = ["recovery_support_started", "trauma_treatment_decided", "goals_evaluated"]

INSERT_REGISTERED = (
    "INSERT INTO trajectory_events (trajectory_id, seq, at, actor_id, kind, data)"
    " VALUES (:id, 1, :t, :u, 'registered', '{}')"
)

INSERT_SCREENING_DUE = (
    "INSERT INTO deadlines (trajectory_id, region_code, kind, status, opened_at,"
    " due_at, next_action_at, stage, escalations, version) VALUES (:id, 'UTR',"
    " 'screening_due', 'open', :t, :d, :d, 0, 0, 1)"
)

INSERT_MEASUREMENT = (
    "INSERT INTO safety_measurements (trajectory_id, number, measured_on,"
    " violence_level, recorded_at, recorded_by_id) VALUES (:id, 1, :d,"
    " 'moderate', :t, :u)"
)

# A transition closes the deadline it meets and the phase's plan review before the next one
# opens: at most one open deadline per trajectory and kind (a partial unique index).
CLOSE_DEADLINE = (
    "UPDATE deadlines SET status = 'met', closed_at = :t, version = version + 1"
    " WHERE trajectory_id = :id AND status = 'open'"
    " AND kind IN ('screening_due', 'plan_review_due')"
)

# (kind, argument): the whole workflow, one service call (one transaction) per step.
STEPS: list[tuple[str, str]] = [
    ("trigger", "start_screening"),
    *[("check", key) for key in CRITERIA],
    ("trigger", "accept"),
    *[("check", key) for key in TEAM],
    ("trigger", "form_team"),
    *[("check", key) for key in SAFETY],
    ("measure", "1"),
    ("trigger", "safety_established"),
    *[("check", key) for key in RISK],
    ("trigger", "risks_addressed"),
    *[("check", key) for key in RECOVERY],
    ("trigger", "recovery_completed"),
    ("trigger", "close"),
]


def drive_services(
    backend: Backend | str, count: int, ready: Callable[[], None] | None = None
) -> tuple[Timer, int]:
    """``count`` trajectories through the whole workflow by the services (``ready``: called
    once the user is made, before the first step)."""
    url = backend if isinstance(backend, str) else backend.url
    app = create_app({"ENV_NAME": "testing", "DATABASE_URL": url})
    # As the processes that run the services do once started (mda.wsgi, mda worker): without
    # it a full collection walking the app's 160,000 objects (66-100 ms) lands in the second
    # or so the steps take here. Undone at the end, for the benchmarks that follow.
    freeze_loaded()
    try:
        return _drive_services(app, count, ready, getattr(backend, "name", ""))
    finally:
        gc.unfreeze()


def _drive_services(
    app: Flask, count: int, ready: Callable[[], None] | None, name: str
) -> tuple[Timer, int]:
    timer = Timer()
    steps = 0
    with app.app_context():
        session = db.session
        user = create_user(
            session,
            Actor.system("cli"),
            f"bench{secrets.token_hex(3)}",
            "bench password long",
            Role.COORDINATOR,
            ["UTR"],
        )
        actor = Actor.from_user(user, channel="cli")
        if ready is not None:
            ready()
        for i in range(count):
            with timer.measure():
                trajectory, _ = svc.register_referral(
                    session,
                    actor,
                    region="UTR",
                    reference=f"BENCH-{secrets.token_hex(8)}",
                    referral_source="veilig_thuis",
                    violence_types=["partner_violence"],
                    children="2",
                    coordinator_id=user.id,
                )
            steps += 1
            tid = trajectory.id
            for kind, arg in STEPS:
                with timer.measure():
                    if kind == "trigger":
                        extra: dict[str, Any] = (
                            {"closure_reason": "goals_met"} if arg == "close" else {}
                        )
                        svc.fire_trigger(session, actor, tid, arg, **extra)
                    elif kind == "check":
                        svc.set_checklist_item(session, actor, tid, arg, True)
                    else:
                        svc.record_measurement(
                            session,
                            actor,
                            tid,
                            number=1,
                            measured_on=today_nl(),
                            violence_level="moderate",
                        )
                steps += 1
            session.expunge_all()
            if ready is None:
                progress(i + 1, count, f"services {name}")
    return timer, steps


def drive_floor(backend: Backend, count: int) -> tuple[Timer, int]:
    """The bare writes of the same steps, as hand-written SQL."""
    timer = Timer()
    steps = 0
    now = datetime.now(UTC)
    stamp = now.replace(tzinfo=None) if backend.name == "sqlite" else now
    due = stamp + timedelta(days=14)
    with Session(backend.engine) as session:
        uid = session.execute(
            text(
                "INSERT INTO users (username, password_hash, role, active, must_change_password,"
                " totp_enabled, session_token, created_at) VALUES (:u, 'x', 'coordinator', true,"
                " false, false, 'x', :t) RETURNING id"
            ),
            {"u": f"floor{secrets.token_hex(3)}", "t": stamp},
        ).scalar_one()
        session.commit()

        def tail(tid: int, version: int, state: str, kind: str) -> None:
            session.execute(
                text(
                    "UPDATE trajectories SET version = :v, state = :s, updated_at = :t"
                    " WHERE id = :id AND version = :old"
                ),
                {"v": version, "s": state, "t": stamp, "id": tid, "old": version - 1},
            )
            session.execute(
                text(
                    "INSERT INTO trajectory_events (trajectory_id, seq, at, actor_id, kind, data)"
                    " VALUES (:id, :seq, :t, :u, :k, '{}')"
                ),
                {"id": tid, "seq": version, "t": stamp, "u": uid, "k": kind},
            )
            session.execute(
                text(
                    "INSERT INTO access_log (at, user_id, username, action, object_type, object_id,"
                    " trajectory_id, channel, details) VALUES (:t, :u, 'floor', 'change',"
                    " 'trajectory', :oid, :id, 'cli', '{}')"
                ),
                {"t": stamp, "u": uid, "oid": str(tid), "id": tid},
            )

        for i in range(count):
            with timer.measure():
                tid = session.execute(
                    text(
                        "INSERT INTO trajectories (pseudonym_hash, pseudonym, key_version,"
                        " region_code, state, version, coordinator_id, referral_source,"
                        " violence_types, children, referred_on, created_at, state_entered_at,"
                        " reentries, relapses, updated_at) VALUES (:h, :p, 1, 'UTR', 'referred',"
                        " 1, :u, 'veilig_thuis', :vt, '2', :day, :t, :t, 0, 0, :t) RETURNING id"
                    ),
                    {
                        "h": secrets.token_hex(32),
                        "p": secrets.token_hex(6),
                        "u": uid,
                        "vt": json.dumps(["partner_violence"]),
                        "day": today_nl(),
                        "t": stamp,
                    },
                ).scalar_one()
                session.execute(
                    text(INSERT_REGISTERED),
                    {"id": tid, "t": stamp, "u": uid},
                )
                session.execute(
                    text(
                        "INSERT INTO access_log (at, user_id, username, action, object_type,"
                        " object_id, trajectory_id, channel, details) VALUES (:t, :u, 'floor',"
                        " 'create', 'trajectory', :oid, :id, 'cli', '{}')"
                    ),
                    {"t": stamp, "u": uid, "oid": str(tid), "id": tid},
                )
                session.execute(
                    text(INSERT_SCREENING_DUE),
                    {"id": tid, "t": stamp, "d": due},
                )
                session.commit()
            steps += 1
            version = 1
            for kind, arg in STEPS:
                version += 1
                with timer.measure():
                    if kind == "check":
                        session.execute(
                            text(
                                "INSERT INTO checklist_items (trajectory_id, key, done, updated_at,"
                                " updated_by_id) VALUES (:id, :k, true, :t, :u)"
                            ),
                            {"id": tid, "k": arg, "t": stamp, "u": uid},
                        )
                    elif kind == "measure":
                        session.execute(
                            text(INSERT_MEASUREMENT),
                            {"id": tid, "d": today_nl(), "t": stamp, "u": uid},
                        )
                    else:
                        session.execute(
                            text(CLOSE_DEADLINE),
                            {"id": tid, "t": stamp},
                        )
                        session.execute(
                            text(
                                "INSERT INTO deadlines (trajectory_id, region_code, kind, status,"
                                " opened_at, due_at, next_action_at, stage, escalations, version)"
                                " VALUES (:id, 'UTR', 'plan_review_due', 'open', :t, :d, :d, 0, 0,"
                                " 1)"
                            ),
                            {"id": tid, "t": stamp, "d": due},
                        )
                    tail(tid, version, "screening", kind)
                    session.commit()
                steps += 1
            progress(i + 1, count, f"floor {backend.name}")
    return timer, steps


def run(backend: Backend, trajectories: int = 100) -> list[dict[str, object]]:
    """W1 on one (fresh, migrated) backend: its row of figures."""
    floor, floor_steps = drive_floor(backend, trajectories)
    service, service_steps = drive_services(backend, trajectories)
    return [
        {
            "backend": backend.name,
            "trajectories": trajectories,
            "steps": service_steps,
            "service steps/s": service_steps / service.total,
            "floor steps/s": floor_steps / floor.total,
            "service p50 ms": service.median * 1000,
            "service p95 ms": service.percentile(95) * 1000,
            "floor p50 ms": floor.median * 1000,
            "ratio service/floor": service.total / floor.total,
        }
    ]


TITLE = "W1 transitions (whole workflow, one transaction per step)"
SCALING_TITLE = "W1 services with concurrent client processes (aggregate)"


def _client(url: str, count: int, barrier: Any, results: Any) -> None:
    """One client process: its own app, user and trajectories; starts with the others."""
    timer, steps = drive_services(url, count, barrier.wait)
    results.put((steps, timer.total))


def scaling(backend: Backend, trajectories: int, processes: list[int]) -> list[dict[str, object]]:
    """The services driven by ``n`` processes at once for each ``n`` in ``processes``.

    The trajectories are split between the processes; each registers its own. Aggregate
    steps/s is every process's steps over the wall time from the common start (after each
    made its app and user) to the last one's end.
    """
    context = multiprocessing.get_context("spawn")
    rows: list[dict[str, object]] = []
    single: float | None = None
    for n in processes:
        barrier = context.Barrier(n + 1)
        results = context.Queue()
        share = max(1, trajectories // n)
        workers = [
            context.Process(target=_client, args=(backend.url, share, barrier, results))
            for _ in range(n)
        ]
        for worker in workers:
            worker.start()
        barrier.wait()
        start = time.perf_counter()
        outcomes = [results.get() for _ in workers]
        end = time.perf_counter()
        for worker in workers:
            worker.join()
            if worker.exitcode:
                raise SystemExit(f"a W1 client process failed (exit code {worker.exitcode})")
        steps = sum(outcome[0] for outcome in outcomes)
        rate = steps / (end - start)
        single = single or rate
        rows.append(
            {
                "backend": backend.name,
                "processes": n,
                "trajectories": share * n,
                "steps": steps,
                "aggregate steps/s": rate,
                "per process steps/s": rate / n,
                "x one process": rate / single,
            }
        )
        progress(len(rows), len(processes), f"processes {backend.name}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=100)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--processes",
        type=int,
        nargs="+",
        default=None,
        help="also drive the services with these numbers of client processes at once",
    )
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    scaled: list[dict[str, object]] = []
    with backends(args.backends) as made:
        for backend in made:
            rows += run(backend, args.trajectories)
            if args.processes:
                scaled += scaling(backend, args.trajectories, args.processes)
    report(TITLE, rows)
    if scaled:
        report(SCALING_TITLE, scaled)


if __name__ == "__main__":
    main()
