"""A small team's concurrent use against real servers: no 5xx, conflicts answer 409.

The embedded default is ``mda run`` itself (gunicorn with several processes and threads, the
Celery worker and beat writing heartbeats to the same SQLite file); PostgreSQL is gunicorn on a
fresh database of the test server. Eight clients send a few hundred mixed API requests (reads,
lists, look-ups, checklist changes, registrations, sign-ins), then twenty send the same change
with the same ``If-Match``: one wins, the others answer 409, none answers 5xx.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fresh_postgres_database, url_of
from tests.support.factories import PASSWORD
from tests.support.servers import free_port, wait_for_port

pytestmark = pytest.mark.slow

CLIENTS = 8
REQUESTS = 320
SAME_VERSION_WRITERS = 20
REGION = "UTR"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def call(base: str, method: str, path: str, token: str | None = None, **kw: Any) -> Answer:
    body = kw.get("json")
    headers = {"Accept": "application/json", **kw.get("headers", {})}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            raw, status, got = response.read(), response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        raw, status, got = exc.read(), exc.code, dict(exc.headers)
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Answer(status, parsed, got)


@dataclass
class Server:
    base: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


def _env(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDA_")}
    env["MDA_INSTANCE_PATH"] = str(instance)
    env.update(extra)
    return env


# One process creates every coordinator through the CLI's own command (``mda user create``):
# a process per user would spend most of the test starting Python.
_CREATE_USERS = f"""
import sys
from mda.cli import cli
for name in sys.argv[1:]:
    cli.main(["user", "create", name, "--role", "coordinator", "--region", "{REGION}",
              "--password-stdin"], prog_name="mda", standalone_mode=False)
"""


def _create_coordinators(env: dict[str, str], names: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CREATE_USERS, *names],
        env=env, input=(PASSWORD + "\n") * len(names), text=True, capture_output=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("Created coordinator") == len(names), result.stdout


def _start(argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[Server]:
    """``mda run`` as a newcomer starts it: web, worker and beat on one SQLite file."""
    instance = tmp_path / "instance"
    env = _env(instance)
    _create_coordinators(env, [f"coordinator{number}" for number in range(CLIENTS)])
    port = free_port()
    log = tmp_path / "mda-run.log"
    proc = _start([sys.executable, "-m", "mda", "run", "--port", str(port)], env, log)
    server = Server(f"http://127.0.0.1:{port}", log)
    try:
        assert wait_for_port(port, timeout=90), f"mda run did not come up:\n{server.output()}"
        yield server
    finally:
        _stop(proc)


@pytest.fixture
def postgresql_server(tmp_path: Path, postgres_server: Any) -> Iterator[Server]:
    """gunicorn on a fresh PostgreSQL database, as production runs the web."""
    engine = fresh_postgres_database(postgres_server, f"mda_load_{os.getpid()}")
    url = url_of(engine)
    engine.dispose()
    env = _env(tmp_path / "instance", MDA_DATABASE_URL=url, MDA_AUTO_UPGRADE="true")
    _create_coordinators(env, [f"coordinator{number}" for number in range(CLIENTS)])
    port = free_port()
    log = tmp_path / "gunicorn.log"
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--threads", "4", "mda.wsgi:app"]  # fmt: skip
    proc = _start(argv, env, log)
    server = Server(f"http://127.0.0.1:{port}", log)
    try:
        assert wait_for_port(port, timeout=90), f"gunicorn did not come up:\n{server.output()}"
        yield server
    finally:
        _stop(proc)


def _sign_in(base: str, number: int) -> str:
    answer = call(
        base, "POST", "/api/v1/tokens",
        json={"username": f"coordinator{number}", "password": PASSWORD},
    )  # fmt: skip
    assert answer.status == 201, answer.body
    return answer.body["token"]


def _register(base: str, token: str, reference: str) -> Answer:
    return call(
        base, "POST", "/api/v1/trajectories", token,
        json={"region": REGION, "reference": reference, "referral_source": "police",
              "violence_types": ["partner_violence"], "children": "1"},
    )  # fmt: skip


def _mixed_load(base: str, tokens: list[str], ids: list[int]) -> Counter[int]:
    """REQUESTS requests from CLIENTS threads; returns the count per status."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    failures: list[str] = []

    def client(number: int) -> None:
        rng = random.Random(number)
        token = tokens[number]
        for step in range(REQUESTS // CLIENTS):
            kind = rng.choice(
                ["read", "read", "list", "lookup", "tick", "tick", "register", "sign_in"]
            )
            target = rng.choice(ids)
            if kind == "read":
                answer = call(base, "GET", f"/api/v1/trajectories/{target}", token)
            elif kind == "list":
                answer = call(base, "GET", "/api/v1/trajectories?per_page=20", token)
            elif kind == "lookup":
                answer = call(
                    base, "POST", "/api/v1/trajectories/lookup", token,
                    json={"reference": f"LOAD-{rng.randrange(len(ids) * 2)}"},
                )  # fmt: skip
            elif kind == "sign_in":
                answer = call(
                    base, "POST", "/api/v1/tokens",
                    json={"username": f"coordinator{number}", "password": PASSWORD},
                )  # fmt: skip
            elif kind == "register":
                answer = _register(base, token, f"LOAD-NEW-{number}-{step}")
            else:
                current = call(base, "GET", f"/api/v1/trajectories/{target}", token)
                version = current.body["version"]
                answer = call(
                    base, "PUT", f"/api/v1/trajectories/{target}/checklist/multiple_life_domains",
                    token, json={"done": rng.choice([True, False])},
                    headers={"If-Match": f'"{version}"'},
                )  # fmt: skip
            with lock:
                statuses[answer.status] += 1
                if answer.status >= 500:
                    failures.append(f"{kind}: {answer.status} {answer.body}")

    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(client, n) for n in range(CLIENTS)]:
            future.result()
    assert not failures, failures[:5]
    return statuses


def _same_version_race(base: str, tokens: list[str], target: int) -> Counter[int]:
    version = call(base, "GET", f"/api/v1/trajectories/{target}", tokens[0]).body["version"]
    barrier = threading.Barrier(SAME_VERSION_WRITERS)

    def write(number: int) -> int:
        barrier.wait()
        return call(
            base, "PUT", f"/api/v1/trajectories/{target}/checklist/interrelated_problems",
            tokens[number % CLIENTS], json={"done": number % 2 == 0},
            headers={"If-Match": f'"{version}"'},
        ).status  # fmt: skip

    with ThreadPoolExecutor(SAME_VERSION_WRITERS) as pool:
        return Counter(pool.map(write, range(SAME_VERSION_WRITERS)))


SERVERS = ["sqlite_server", pytest.param("postgresql_server", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("server_fixture", SERVERS)
def test_a_team_of_eight_gets_no_server_errors(server_fixture: str, request: Any) -> None:
    server: Server = request.getfixturevalue(server_fixture)
    base = server.base
    # Eight sign-ins at once: each records an attempt while the others (and beat) write.
    with ThreadPoolExecutor(CLIENTS) as pool:
        tokens = list(pool.map(lambda n: _sign_in(base, n), range(CLIENTS)))
    ids = []
    for number in range(12):
        answer = _register(base, tokens[0], f"LOAD-{number}")
        assert answer.status == 201, answer.body
        ids.append(answer.body["id"])
        # Start screening so the screening criteria can be ticked.
        started = call(
            base, "POST", f"/api/v1/trajectories/{answer.body['id']}/transitions", tokens[0],
            json={"trigger": "start_screening"},
            headers={"If-Match": f'"{answer.body["version"]}"'},
        )  # fmt: skip
        assert started.status == 200, started.body

    statuses = _mixed_load(base, tokens, ids)
    assert not [s for s in statuses if s >= 500], (statuses, server.output())
    # Mostly successes; the rest are conflicts from ticking a stale version.
    assert statuses[200] + statuses[201] >= REQUESTS * 0.6, statuses
    assert set(statuses) <= {200, 201, 404, 409}, statuses

    race = _same_version_race(base, tokens, ids[0])
    assert race == Counter({200: 1, 409: SAME_VERSION_WRITERS - 1}), (race, server.output())
