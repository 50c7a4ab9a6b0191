"""W3 web: API and worklist latency under 1, 4 and 8 concurrent clients.

gunicorn serves the app on loopback against a database filled by :func:`mda.demo.generate`
(4 synchronous workers, as the README's production command runs it; ``--workers`` and
``--threads`` to measure others, such as ``mda run``'s workers of 4 threads); threaded
clients (one keep-alive connection each, opened again when a synchronous worker closes it)
signed in as a coordinator of the largest region measure, for a few seconds per concurrency:

- ``api read``: ``GET /api/v1/trajectories/<id>`` of a random trajectory of the region (bearer
  token; the trajectory with its checklist, triggers, deadlines, measurements and events);
- ``api list``: ``GET /api/v1/trajectories?per_page=50`` (the API's trajectory list, by offset);
- ``api worklist``: ``GET /api/v1/worklist?per_page=50`` (the worklist service as JSON, the
  same query as the page);
- ``worklist page``: ``GET /trajectories/`` signed in through the login form (CSRF and the
  session cookie), the worklist service rendered as HTML, 50 rows.

Floor: the worklist's two statements (the first page by the ``ix_trajectories_worklist``
keyset order, and the count) written by hand and issued through the engine (no HTTP, no ORM)
by as many threads as there are clients. Ratio: worklist page requests/s over floor
queries/s at the same concurrency (and the same for the API's worklist).

The demo population is generated first (``mda.demo.generate``); its size and how long it took
are printed before the measurements.

    python -m bench.w3_web --households 2000 --clients 1 4 8 --seconds 5
    python -m bench.w3_web --households 100000 --backends postgresql     # W3 at 100k
    python -m bench.w3_web --households 1000000 --backends postgresql    # W3 at 1M
    python -m bench.w3_web --database-url postgresql+psycopg://...        # a database filled before
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.support import Backend, Timer, backends, report
from mda.demo import generate
from mda.extensions import make_engine
from mda.services.context import Actor
from mda.services.settings import Settings, use_settings
from mda.services.users import create_user
from mda.vocabulary import Role

USERNAME = "w3coordinator"
PASSWORD = "w3 bench password long"
PER_PAGE = 50

# The worklist's first page, as the service asks for it (mda.services.worklist): open
# trajectories of the region by their earliest due moment, then the id, and their count.
FLOOR_PAGE = text(
    "SELECT id, pseudonym, region_code, state, coordinator_id, version, next_due_kind,"
    " next_due_at FROM trajectories WHERE region_code = :region AND state != 'closed'"
    " AND next_due_at IS NOT NULL ORDER BY next_due_at, id LIMIT :limit"
)
FLOOR_COUNT = text(
    "SELECT count(*) FROM trajectories WHERE region_code = :region AND state != 'closed'"
)


# --- the server ---------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/auth/login")
            conn.getresponse().read()
            conn.close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


@contextmanager
def serving(backend: Backend, workers: int, threads: int) -> Iterator[int]:
    """gunicorn on a free loopback port, serving the app on the backend's database."""
    with tempfile.TemporaryDirectory(prefix="mda-w3-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MDA_")}
        env["MDA_INSTANCE_PATH"] = str(Path(folder) / "instance")
        env["MDA_DATABASE_URL"] = backend.url
        port = _free_port()
        log_path = Path(folder) / "gunicorn.log"
        argv = [
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--threads", str(threads), "mda.wsgi:app",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            if not _wait_for(port, 90):
                raise SystemExit(
                    "gunicorn did not come up:\n" + log_path.read_text(errors="replace")[-3000:]
                )
            yield port
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


# --- a client -----------------------------------------------------------------------------


@dataclass
class Client:
    """One keep-alive connection with its cookies (the session) and bearer token."""

    port: int
    token: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, bytes]:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request(method, path, body=body, headers=sent)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close" and self.conn is not None:
            self.conn.close()
            self.conn = None
        return response.status, data

    def api(self, path: str) -> tuple[int, bytes]:
        return self.request(
            "GET",
            path,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
        )

    def sign_in_api(self) -> None:
        body = json.dumps({"username": USERNAME, "password": PASSWORD}).encode()
        status, data = self.request(
            "POST", "/api/v1/tokens", body, {"Content-Type": "application/json"}
        )
        if status != 201:
            raise SystemExit(f"token request answered {status}: {data[:300]!r}")
        self.token = json.loads(data)["token"]

    def sign_in_web(self) -> None:
        status, page = self.request("GET", "/auth/login")
        found = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        if status != 200 or found is None:
            raise SystemExit(f"login page answered {status} without a CSRF token")
        form = urllib.parse.urlencode(
            {"csrf_token": found.group(1).decode(), "username": USERNAME, "password": PASSWORD}
        ).encode()
        status, data = self.request(
            "POST", "/auth/login", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status not in (302, 303):
            raise SystemExit(f"signing in answered {status}: {data[:300]!r}")


# --- load ---------------------------------------------------------------------------------


def _load(
    clients: int, seconds: float, make: Callable[[int], Callable[[], bool]]
) -> tuple[Timer, int, float]:
    """``clients`` threads calling their operation for ``seconds``: latencies, errors, wall."""
    timer = Timer()
    errors = 0
    lock = threading.Lock()
    operations = [make(number) for number in range(clients)]
    for operation in operations:  # a warm-up call each (connections, caches, plans)
        operation()
    barrier = threading.Barrier(clients + 1)
    stop = time.perf_counter() + seconds + 1e9  # set for real once all threads are ready

    def worker(operation: Callable[[], bool]) -> None:
        nonlocal errors
        samples: list[float] = []
        failed = 0
        barrier.wait()
        while time.perf_counter() < stop:
            start = time.perf_counter()
            ok = operation()
            samples.append(time.perf_counter() - start)
            failed += not ok
        with lock:
            timer.samples.extend(samples)
            errors += failed

    threads = [threading.Thread(target=worker, args=(op,)) for op in operations]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    stop = started + seconds
    barrier.wait()
    for thread in threads:
        thread.join()
    return timer, errors, time.perf_counter() - started


def _row(
    backend: Backend, households: int, what: str, clients: int, measured: tuple[Timer, int, float]
) -> dict[str, object]:
    timer, errors, wall = measured
    return {
        "backend": backend.name,
        "households": households,
        "what": what,
        "clients": clients,
        "requests": len(timer.samples),
        "errors": errors,
        "req/s": len(timer.samples) / wall,
        "p50 ms": timer.median * 1000,
        "p95 ms": timer.percentile(95) * 1000,
        "p99 ms": timer.percentile(99) * 1000,
        "x floor": "",
    }


# --- the benchmark ------------------------------------------------------------------------


def prepare(backend: Backend, households: int | None, seed: int) -> tuple[str, list[int], int]:
    """The demo population (none when ``households`` is None: the database is filled
    already), a coordinator of the largest region, ids to read there, and the trajectories."""
    with Session(backend.engine) as session:
        use_settings(session, Settings())
        if households is not None:
            made = generate(backend.engine, households=households, seed=seed)
            print(f"W3 {backend.name}: {made.summary()}", file=sys.stderr, flush=True)
        sizes = session.execute(
            text("SELECT region_code, count(*) FROM trajectories GROUP BY region_code")
        ).all()
        if not sizes:
            raise SystemExit("no trajectories in the database: give --households")
        region = max(sizes, key=lambda row: (row[1], row[0]))[0]
        exists = session.scalar(text("SELECT count(*) FROM users WHERE username = :u"),
                                {"u": USERNAME})  # fmt: skip
        if not exists:
            create_user(
                session, Actor.system("cli"), USERNAME, PASSWORD, Role.COORDINATOR, [region]
            )
            session.commit()
        ids = list(
            session.scalars(
                text("SELECT id FROM trajectories WHERE region_code = :r ORDER BY id"),
                {"r": region},
            )
        )
    return region, ids, sum(int(n) for _code, n in sizes)


def run(
    backend: Backend,
    *,
    households: int | None = 2000,
    clients: list[int] | None = None,
    seconds: float = 5.0,
    seed: int = 13,
    workers: int = 4,
    threads: int = 1,
) -> list[dict[str, object]]:
    """W3 on one (fresh, migrated) backend: one row per (what, clients)."""
    clients = clients or [1, 4, 8]
    region, ids, households = prepare(backend, households, seed)
    rows: list[dict[str, object]] = []
    with serving(backend, workers, threads) as port:

        def api_read(number: int) -> Callable[[], bool]:
            client = Client(port)
            client.sign_in_api()
            rng = random.Random(number)
            return lambda: client.api(f"/api/v1/trajectories/{rng.choice(ids)}")[0] == 200

        def api_list(number: int) -> Callable[[], bool]:
            client = Client(port)
            client.sign_in_api()
            return lambda: client.api(f"/api/v1/trajectories?per_page={PER_PAGE}")[0] == 200

        def api_worklist(number: int) -> Callable[[], bool]:
            client = Client(port)
            client.sign_in_api()
            return lambda: client.api(f"/api/v1/worklist?per_page={PER_PAGE}")[0] == 200

        def page(number: int) -> Callable[[], bool]:
            client = Client(port)
            client.sign_in_web()
            return lambda: client.request("GET", "/trajectories/")[0] == 200

        def floor(number: int) -> Callable[[], bool]:
            params = {"region": region, "limit": PER_PAGE + 1}

            def query() -> bool:
                with backend.engine.connect() as conn:
                    conn.execute(FLOOR_PAGE, params).all()
                    conn.execute(FLOOR_COUNT, params).scalar_one()
                return True

            return query

        for count in clients:
            floor_row = _row(backend, households, "floor (worklist SQL)", count,
                             _load(count, seconds, floor))  # fmt: skip
            page_row = _row(backend, households, "worklist page", count,
                            _load(count, seconds, page))  # fmt: skip
            worklist_row = _row(backend, households, "api worklist", count,
                                _load(count, seconds, api_worklist))  # fmt: skip
            for row in (page_row, worklist_row):
                row["x floor"] = float(row["req/s"]) / float(floor_row["req/s"])  # type: ignore[arg-type]
            rows += [
                _row(backend, households, "api read", count, _load(count, seconds, api_read)),
                _row(backend, households, "api list", count, _load(count, seconds, api_list)),
                worklist_row,
                page_row,
                floor_row,
            ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--households", type=int, default=2000, help="demo households (100000, 1000000: full W3)"
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--database-url",
        help="measure this database, filled before (by mda demo or an earlier run), instead "
        "of generating one; a coordinator of its largest region is added if missing",
    )
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    with contextlib.ExitStack() as stack:
        households: int | None = args.households
        if args.database_url:
            engine = make_engine(args.database_url)
            stack.callback(engine.dispose)
            made = [Backend(engine.dialect.name, engine)]
            households = None
        else:
            made = stack.enter_context(backends(args.backends))
        for backend in made:
            rows += run(
                backend,
                households=households,
                clients=args.clients,
                seconds=args.seconds,
                seed=args.seed,
                workers=args.workers,
                threads=args.threads,
            )
    report("W3 web: latency under concurrent clients (x floor: req/s / floor req/s)", rows)
    if any(row["errors"] for row in rows):
        raise SystemExit("some requests failed")


if __name__ == "__main__":
    main()
