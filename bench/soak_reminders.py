"""Reminder soak: Redis stopped for a long outage while coordinators keep working.

PostgreSQL, Redis, an SMTP server on loopback, one Celery worker and one beat (the production
stack). A coordinator registers a referral 30 working days late every ``--every`` seconds
throughout; Redis is stopped after ``--before`` seconds for ``--outage`` seconds, then started
again. Afterwards every late referral must have given exactly one overdue notice to its
coordinator and one escalation to each of the two managers, and one e-mail each: none lost,
none doubled. Reported: changes made during the outage (all must succeed), notifications and
e-mails expected and delivered, duplicates, and how long the backlog took to drain.

    python -m bench.soak_reminders --outage 600 --interval 5
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bench.support import report
from mda.extensions import make_engine
from mda.models import Delivery, Notification
from mda.services.pseudonyms import PseudonymKeys
from mda.vocabulary import Channel, NotificationStatus
from tests.conftest import migrate
from tests.support.servers import start_postgres
from tests.support.smtp import SmtpServer
from tests.worker.test_reminders import Redis, _process, _stop, seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=600, help="seconds Redis is down")
    parser.add_argument("--before", type=float, default=20, help="seconds before the outage")
    parser.add_argument("--every", type=float, default=2, help="seconds between referrals")
    parser.add_argument("--interval", type=float, default=5, help="MDA_SWEEP_INTERVAL_SECONDS")
    parser.add_argument("--drain", type=float, default=600, help="most seconds to wait after")
    args = parser.parse_args()

    server = start_postgres()
    admin = make_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE DATABASE "mda_soak"'))
    admin.dispose()
    url = make_engine(server.url).url.set(database="mda_soak")
    engine = make_engine(url.render_as_string(hide_password=False))
    migrate(engine)
    keys = PseudonymKeys(1, ("p" * 48).encode())
    folder = Path(tempfile.mkdtemp(prefix="mda-soak-"))
    log = folder / "worker.log"
    redis = Redis()
    redis.start()
    procs = []
    made = {"before": 0, "during": 0, "after": 0, "failed": 0}
    phase = {"name": "before"}
    stop = threading.Event()

    with Session(engine) as session:
        people, _ = seed(session, keys, "SOAK-0")
    made["before"] += 1

    def coordinator() -> None:
        n = 1
        while not stop.wait(args.every):
            try:
                with Session(engine) as session:
                    seed(session, keys, f"SOAK-{n}", people)
                made[phase["name"]] += 1
            except Exception as exc:
                made["failed"] += 1
                print(f"change failed: {exc!r}", file=sys.stderr)
            n += 1

    with SmtpServer() as smtp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MDA_")}
        env |= {
            "MDA_ENV": "production",
            "MDA_DATABASE_URL": url.render_as_string(hide_password=False),
            "MDA_BROKER_URL": redis.url,
            "MDA_SECRET_KEY": "s" * 48,
            "MDA_PSEUDONYM_KEY": "p" * 48,
            "MDA_INSTANCE_PATH": str(folder / "instance"),
            "MDA_SMTP_HOST": "127.0.0.1",
            "MDA_SMTP_PORT": str(smtp.port),
            "MDA_SWEEP_INTERVAL_SECONDS": str(args.interval),
            "MDA_DELIVERY_LEASE_SECONDS": str(max(30.0, 6 * args.interval)),
            "MDA_DIGEST_HOUR": "24",
        }
        worker = ["worker", "--pool=threads", "--concurrency=2", "--without-mingle"]
        worker += ["--without-gossip", "--hostname=soak@%h"]
        try:
            procs.append(_process(worker, env, log))
            procs.append(_process(["beat"], env, log))
            thread = threading.Thread(target=coordinator, daemon=True)
            thread.start()
            time.sleep(args.before)
            phase["name"] = "during"
            redis.stop()
            print(f"Redis stopped for {args.outage:g} s", file=sys.stderr)
            time.sleep(args.outage)
            redis.start()
            back = time.monotonic()
            phase["name"] = "after"
            print("Redis is back", file=sys.stderr)
            time.sleep(args.before)
            stop.set()
            thread.join()
            referrals = sum(v for k, v in made.items() if k != "failed")
            expected = referrals * 3
            drained = None
            deadline = time.monotonic() + args.drain
            while time.monotonic() < deadline:
                with Session(engine) as session:
                    sent = session.scalar(
                        select(func.count())
                        .select_from(Delivery)
                        .where(
                            Delivery.channel == Channel.EMAIL,
                            Delivery.status == NotificationStatus.SENT,
                        )
                    )
                if (sent or 0) >= expected and len(smtp.sink.received) >= expected:
                    drained = time.monotonic() - back
                    break
                time.sleep(1)
            time.sleep(3 * args.interval)  # more sweeps: nothing more may come
            with Session(engine) as session:
                notifications = session.scalar(select(func.count()).select_from(Notification))
                doubled = session.execute(
                    select(Notification.deadline_id, Notification.recipient_id)
                    .group_by(Notification.deadline_id, Notification.recipient_id)
                    .having(func.count() > 1)
                ).all()
            ids = Counter(str(m["Message-ID"]) for m in smtp.sink.received)
            report(
                "Reminder soak: Redis stopped while coordinators work",
                [
                    {
                        "outage s": args.outage,
                        "sweep interval s": args.interval,
                        "referrals before/during/after": (
                            f"{made['before']}/{made['during']}/{made['after']}"
                        ),
                        "changes failed": made["failed"],
                        "notifications expected": expected,
                        "notifications": notifications,
                        "e-mails received": len(smtp.sink.received),
                        "duplicates": len(doubled) + sum(n - 1 for n in ids.values()),
                        "drained s after Redis back": drained,
                    }
                ],
            )
            ok = (
                drained is not None
                and notifications == expected
                and len(smtp.sink.received) == expected
                and not doubled
                and made["failed"] == 0
            )
        finally:
            stop.set()
            for proc in procs:
                _stop(proc)
            redis.cleanup()
            engine.dispose()
            server.stop()
    if not ok:
        print(log.read_text(errors="replace")[-5000:], file=sys.stderr)
        raise SystemExit("the soak lost or doubled reminders")


if __name__ == "__main__":
    main()
