"""Real PostgreSQL and Redis servers for the tests, started on loopback in a temporary folder.

Set ``MDA_TEST_POSTGRES_URL`` or ``MDA_TEST_REDIS_URL`` to use servers of your own instead.
When a server cannot be started the tests that need it skip locally and fail in CI
(``CI`` set), so a missing server never passes silently there.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(what: str) -> None:
    """Skip locally, fail in CI."""
    if in_ci():
        pytest.fail(f"{what} (CI must run these tests; see .ci/run)", pytrace=False)
    pytest.skip(what)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def postgres_bindir() -> str | None:
    explicit = os.environ.get("MDA_TEST_PG_BINDIR")
    if explicit:
        return explicit
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
    )
    for candidate in reversed(candidates):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    initdb = shutil.which("initdb")
    return os.path.dirname(os.path.realpath(initdb)) if initdb else None


@dataclass
class PostgresServer:
    url: str
    datadir: str | None = None
    bindir: str | None = None
    user: str | None = None
    port: int | None = None

    def stop(self) -> None:
        if self.datadir and self.bindir:
            _run_as(
                [
                    os.path.join(self.bindir, "pg_ctl"),
                    "-D",
                    self.datadir,
                    "-m",
                    "immediate",
                    "stop",
                ],
                self.user,
                check=False,
            )
            shutil.rmtree(Path(self.datadir).parent, ignore_errors=True)


def _run_as(argv: list[str], user: str | None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, user=user, check=check, capture_output=True, text=True, cwd="/")


def start_postgres() -> PostgresServer:
    """A throw-away cluster on a free loopback port, tuned for tests (no fsync)."""
    bindir = postgres_bindir()
    if not bindir:
        raise RuntimeError("no PostgreSQL server binaries (initdb) found")
    user = None
    base = tempfile.mkdtemp(prefix="mda-pg-")
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: run it as the 'postgres' system user.
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            msg = "running as root and no 'postgres' user to run PostgreSQL as"
            raise RuntimeError(msg) from None
        user = "postgres"
        os.chown(base, pw.pw_uid, pw.pw_gid)
    datadir = os.path.join(base, "data")
    port = free_port()
    _run_as(
        [
            os.path.join(bindir, "initdb"),
            "-D",
            datadir,
            "-U",
            "mda",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ],
        user,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        "-c max_connections=200"
    )
    _run_as(
        [
            os.path.join(bindir, "pg_ctl"),
            "-D",
            datadir,
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "-l",
            os.path.join(base, "log"),
            "start",
        ],
        user,
    )
    return PostgresServer(
        url=f"postgresql+psycopg://mda@127.0.0.1:{port}/postgres",
        datadir=datadir,
        bindir=bindir,
        user=user,
        port=port,
    )


@dataclass
class RedisServer:
    url: str
    process: subprocess.Popen | None = None
    workdir: str | None = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_redis() -> RedisServer:
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError("redis-server not found")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="mda-redis-")
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if not wait_for_port(port):
        process.kill()
        raise RuntimeError("redis-server did not start listening")
    return RedisServer(url=f"redis://127.0.0.1:{port}/0", process=process, workdir=workdir)
