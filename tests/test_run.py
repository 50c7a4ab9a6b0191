"""``mda run``, the embedded default, as a newcomer starts it: a real process tree."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mda import create_app
from mda.extensions import make_engine
from mda.models import Region
from tests.support.servers import free_port, wait_for_port

pytestmark = pytest.mark.slow


def _processes_with_instance(instance: Path) -> list[int]:
    """Every live process whose environment points at this instance folder."""
    needle = f"MDA_INSTANCE_PATH={instance}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if "State:\tZ" in status:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _child_running(instance: Path, parent: int, command: str) -> int | None:
    """The pid of ``mda run``'s child running ``python -m mda COMMAND``, if there is one."""
    for pid in _processes_with_instance(instance):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(next(ln for ln in status.splitlines() if ln.startswith("PPid:")).split()[1])
        if ppid == parent and argv[1:4] == [b"-m", b"mda", command.encode()]:
            return pid
    return None


def _wait_until(condition: Callable[[], object], timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    return condition()


class MdaRun:
    """One ``mda run`` on a free port, its output in a file (a pipe nobody reads would fill)."""

    def __init__(self, instance: Path, log_path: Path) -> None:
        self.instance = instance
        self.port = free_port()
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith("MDA_")}
        env["MDA_INSTANCE_PATH"] = str(instance)
        self.env = env
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv(self.port),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @staticmethod
    def argv(port: int) -> list[str]:
        return [sys.executable, "-m", "mda", "run", "--port", str(port), "--web-workers", "1"]

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_serving(self) -> None:
        assert wait_for_port(self.port, timeout=90), f"web server did not come up:\n{self.output()}"
        assert self.answers(), self.output()

    def answers(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/auth/login"
        with urllib.request.urlopen(url, timeout=60) as resp:
            return resp.status == 200 and b'name="password"' in resp.read()

    def ping(self, timeout: float = 120) -> None:
        """Send a task through the embedded broker (SQLite) and wait for the worker's answer."""
        celery_app = Celery(
            "ping",
            broker=f"sqla+sqlite:///{self.instance / 'broker.sqlite'}",
            backend=f"db+sqlite:///{self.instance / 'results.sqlite'}",
            set_as_current=False,
        )
        token = uuid.uuid4().hex
        try:
            answer = celery_app.send_task("mda.ping", args=[token]).get(timeout=timeout)
        except Exception as exc:
            pytest.fail(f"the worker did not answer the ping ({exc!r}):\n{self.output()}")
        finally:
            celery_app.close()
        assert answer["token"] == token

    def stop(self) -> None:
        """Ctrl-C, then check that nothing of the tree is left."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill_all()
                pytest.fail(f"mda run did not stop on Ctrl-C:\n{self.output()}")
        assert "mda run: stopped." in self.output(), self.output()
        survivors = _wait_until(lambda: not _processes_with_instance(self.instance), 10)
        assert survivors, f"stray processes survived: {_processes_with_instance(self.instance)}"
        with pytest.raises(ProcessLookupError):
            os.killpg(self.proc.pid, 0)

    def kill_all(self) -> None:
        """Last resort in a finally: nothing of this tree may outlive the test."""
        for pid in [self.proc.pid, *_processes_with_instance(self.instance)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=30)


def _assert_owner_only(folder: Path) -> None:
    mode = stat.S_IMODE(folder.stat().st_mode)
    assert mode == 0o700, f"the instance folder is {oct(mode)}"
    for entry in folder.iterdir():
        try:
            info = entry.lstat()
        except FileNotFoundError:  # a journal that just went away
            continue
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISREG(info.st_mode):
            assert mode == 0o600, f"{entry.name} is {oct(mode)}"
        else:
            assert mode & 0o077 == 0, f"{entry.name} is {oct(mode)}"


def test_mda_run_serves_pages_runs_tasks_and_stops_cleanly(tmp_path):
    instance = tmp_path / "instance"
    run = MdaRun(instance, tmp_path / "mda-run.log")
    try:
        run.wait_until_serving()
        engine = make_engine(f"sqlite:///{instance / 'mda.sqlite'}")
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(Region)) == 28
        engine.dispose()

        run.ping()
        # Password hashes, TOTP secrets and keys: for the owner only, WAL and SHM included.
        assert {"mda.sqlite", "mda.sqlite-wal", "broker.sqlite", "secret_key"} <= {
            p.name for p in instance.iterdir()
        }
        _assert_owner_only(instance)
        assert _processes_with_instance(instance), "expected the process tree to be running"

        os.environ["MDA_INSTANCE_PATH"] = str(instance)
        try:
            app = create_app({"AUTO_UPGRADE": False})
        finally:
            del os.environ["MDA_INSTANCE_PATH"]
        assert app.extensions["celery"].conf.broker_url.startswith("sqla+sqlite:///")
        run.stop()
    finally:
        run.kill_all()


def test_one_mda_run_per_instance_folder_and_a_crash_leaves_no_lock(tmp_path):
    instance = tmp_path / "instance"
    first = MdaRun(instance, tmp_path / "first.log")
    third = None
    try:
        first.wait_until_serving()
        second = subprocess.run(
            MdaRun.argv(free_port()),
            env=first.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        said = second.stdout + second.stderr
        assert second.returncode != 0, said
        assert f"pid {first.proc.pid}" in said, said
        assert f"http://127.0.0.1:{first.port}/" in said, said
        assert first.answers(), "the first mda run must keep running"
        assert first.proc.poll() is None

        # A crash: the lock goes with the process, its children follow (SIGTERM from the
        # kernel), and the next mda run starts on the same folder.
        first.proc.kill()
        first.proc.wait(timeout=30)
        gone = _wait_until(lambda: not _processes_with_instance(instance), 60)
        assert gone, f"children outlived a killed mda run: {_processes_with_instance(instance)}"

        third = MdaRun(instance, tmp_path / "third.log")
        third.wait_until_serving()
        assert "already running" not in third.output()
        third.stop()
    finally:
        first.kill_all()
        if third is not None:
            third.kill_all()


def test_a_killed_worker_is_restarted_and_runs_tasks_again(tmp_path):
    instance = tmp_path / "instance"
    run = MdaRun(instance, tmp_path / "mda-run.log")
    try:
        run.wait_until_serving()
        run.ping()
        worker = _child_running(instance, run.proc.pid, "worker")
        assert worker, run.output()
        os.kill(worker, signal.SIGKILL)

        logged = "mda run: worker exited with code -9 (killed by SIGKILL); restarting in 1 s."
        assert _wait_until(lambda: logged in run.output(), 30), run.output()
        replacement = _wait_until(lambda: _child_running(instance, run.proc.pid, "worker"), 30)
        assert replacement and replacement != worker, run.output()
        run.ping()
        assert _child_running(instance, run.proc.pid, "beat"), "beat must have kept running"
        assert run.answers()
        run.stop()
    finally:
        run.kill_all()
