"""``mda run`` before its children start: one instance per folder, queues declared, modes.

These run ``mda run`` in-process with ``supervise`` replaced, so they see exactly what holds at
the moment the children would start. ``tests/test_run.py`` runs the real process tree.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time

import pytest
from click.testing import CliRunner

from mda import cli as mda_cli
from tests.support.servers import free_port


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """The embedded default in a fresh instance folder, as a newcomer would run it."""
    for key in list(os.environ):
        if key.startswith("MDA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MDA_INSTANCE_PATH", str(tmp_path / "instance"))
    umask = os.umask(0o022)  # a usual login umask; restored below whatever run does
    yield tmp_path / "instance"
    os.umask(umask)


def _lock_is_held(path) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _assert_owner_only(folder) -> None:
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700, oct(folder.stat().st_mode)
    for entry in folder.iterdir():
        mode = stat.S_IMODE(entry.lstat().st_mode)
        if entry.is_file():
            assert mode == 0o600, f"{entry.name} is {oct(mode)}"
        else:
            assert mode & 0o077 == 0, f"{entry.name} is {oct(mode)}"


def test_run_locks_the_folder_and_declares_the_queues_before_any_child_starts(
    instance, monkeypatch
):
    seen: dict = {}

    def fake_supervise(commands, env, grace_seconds=20.0, *, pass_fds=(), **_kw):
        lock = instance / mda_cli.LOCK_FILE
        seen["held"] = _lock_is_held(lock)
        seen["record"] = json.loads(lock.read_text())
        seen["children_get_the_lock"] = any(
            os.path.samestat(os.fstat(fd), lock.stat()) for fd in pass_fds
        )
        seen["umask"] = _current_umask()
        with sqlite3.connect(instance / "broker.sqlite") as broker:
            seen["queues"] = {name for (name,) in broker.execute("SELECT name FROM kombu_queue")}
        seen["commands"] = set(commands)
        return 0

    monkeypatch.setattr(mda_cli, "supervise", fake_supervise)
    port = free_port()
    result = CliRunner().invoke(mda_cli.cli, ["run", "--port", str(port)])
    assert result.exit_code == 0, result.output

    assert seen["commands"] == {"web", "worker", "beat"}
    assert seen["held"], "the instance lock must be held while the children run"
    assert seen["record"]["pid"] == os.getpid()
    assert seen["record"]["port"] == port
    assert seen["children_get_the_lock"], "the children must hold the lock too"
    assert "celery" in seen["queues"], "the task queue must exist before the children start"
    assert seen["umask"] == 0o077

    # Released on exit, the pid cleared, the caller's umask back.
    lock = instance / mda_cli.LOCK_FILE
    assert not _lock_is_held(lock)
    assert lock.read_text() == ""
    assert _current_umask() == 0o022
    _assert_owner_only(instance)


def test_a_second_run_refuses_at_once_naming_the_first_before_touching_the_database(instance):
    instance.mkdir(mode=0o700)
    # Another "mda run": a live process holding the lock with its record written.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys
                from pathlib import Path
                from mda.cli import _lock_instance
                _lock_instance(Path({str(instance)!r}), "127.0.0.1", 5999)
                print("locked", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = CliRunner().invoke(mda_cli.cli, ["run", "--port", str(free_port())])
        assert result.exit_code != 0
        assert f"pid {holder.pid}" in result.output, result.output
        assert "http://127.0.0.1:5999/" in result.output
        assert "already running" in result.output
        # Refused before migrations: no database was made.
        assert not (instance / "mda.sqlite").exists()
        assert holder.poll() is None
    finally:
        holder.kill()
        holder.communicate(timeout=30)  # waits, and closes the pipes


def test_the_lock_of_a_crashed_run_is_stale_at_once(instance):
    instance.mkdir(mode=0o700)
    crashed = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import os, signal
                from pathlib import Path
                from mda.cli import _lock_instance
                _lock_instance(Path({str(instance)!r}), "127.0.0.1", 5999)
                os.kill(os.getpid(), signal.SIGKILL)
                """
            ),
        ],
        timeout=60,
        check=False,
    )
    assert crashed.returncode == -signal.SIGKILL
    assert json.loads((instance / mda_cli.LOCK_FILE).read_text())["pid"] > 0  # stale pid left
    fd = mda_cli._lock_instance(instance, "127.0.0.1", 6000)
    try:
        assert json.loads((instance / mda_cli.LOCK_FILE).read_text())["pid"] == os.getpid()
    finally:
        mda_cli._unlock_instance(fd)


def test_run_refuses_a_port_in_use_instead_of_restarting_the_web_server_forever(instance):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(mda_cli.cli, ["run", "--port", str(port)])
    assert result.exit_code != 0
    assert f"Cannot listen on 127.0.0.1:{port}" in result.output
    assert not _lock_is_held(instance / mda_cli.LOCK_FILE)


def test_the_embedded_app_makes_its_folder_0700_and_its_files_0600(instance):
    from mda import create_app

    # An instance folder from before this rule: world-readable folder and files.
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    old = instance / "secret_key"
    old.write_text("x" * 64 + "\n")
    old.chmod(0o644)

    app = create_app()  # the embedded default, with migrations
    with app.app_context():
        from sqlalchemy import text

        from mda.extensions import db

        db.session.execute(text("SELECT 1"))  # WAL and SHM exist while a connection is open
        names = {p.name for p in instance.iterdir()}
        assert {"mda.sqlite", "mda.sqlite-wal", "secret_key", "pseudonym_key"} <= names
        _assert_owner_only(instance)
    db.state(app).engine.dispose()


# --- supervise: restart with back-off, stop on a signal ---------------------------------

_SUPERVISOR = """
import sys
from mda.cli import supervise
exe = sys.executable
code = supervise(
    {
        "flaky": [exe, "-c", "import time; time.sleep(%(flaky_runs)s)"],
        "steady": [exe, "-c", "import time; time.sleep(300)"],
    },
    {},
    grace_seconds=5,
    first_delay=0.1,
    max_delay=0.4,
    healthy_after=%(healthy_after)s,
)
sys.exit(code)
"""


def _supervise_for(seconds: float, flaky_runs: float, healthy_after: float) -> tuple[int, str]:
    script = _SUPERVISOR % {"flaky_runs": flaky_runs, "healthy_after": healthy_after}
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDA_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        time.sleep(seconds)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, out


def _restart_delays(out: str) -> list[str]:
    return [
        line.split("restarting in ")[1].rstrip(".")
        for line in out.splitlines()
        if line.startswith("mda run: flaky exited with code 0; restarting in ")
    ]


def test_a_child_that_ends_is_restarted_with_growing_capped_back_off_and_ctrl_c_stops_all():
    code, out = _supervise_for(seconds=4.0, flaky_runs=0, healthy_after=60)
    assert code == 0, out
    delays = _restart_delays(out)
    assert delays[:4] == ["0.1 s", "0.2 s", "0.4 s", "0.4 s"], out
    assert "mda run: flaky restarted (pid " in out
    assert "steady exited" not in out
    assert out.rstrip().endswith("mda run: stopped."), out


def test_the_back_off_starts_over_after_a_healthy_run():
    code, out = _supervise_for(seconds=3.0, flaky_runs=0.3, healthy_after=0.2)
    assert code == 0, out
    delays = _restart_delays(out)
    assert len(delays) >= 3, out
    assert set(delays) == {"0.1 s"}, out
