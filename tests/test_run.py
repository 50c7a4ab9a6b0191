"""``mda run``, the embedded default, as a newcomer starts it: a real process tree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
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


def test_mda_run_serves_pages_runs_tasks_and_stops_cleanly(tmp_path):
    instance = tmp_path / "instance"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDA_")}
    env["MDA_INSTANCE_PATH"] = str(instance)
    # Output to a file, not a pipe: a pipe nobody reads fills up and blocks the children.
    log_path = tmp_path / "mda-run.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mda", "run", "--port", str(port), "--web-workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output() -> str:
        return log_path.read_text(errors="replace")

    try:
        assert wait_for_port(port, timeout=90), f"the web server did not come up:\n{output()}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/auth/login", timeout=60) as resp:
            assert resp.status == 200
            assert b'name="password"' in resp.read()

        engine = make_engine(f"sqlite:///{instance / 'mda.sqlite'}")
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(Region)) == 28
        engine.dispose()

        # Send a task through the embedded broker (SQLite) and wait for the worker's answer.
        os.environ["MDA_INSTANCE_PATH"] = str(instance)
        try:
            app = create_app({"AUTO_UPGRADE": False})
        finally:
            del os.environ["MDA_INSTANCE_PATH"]
        celery_app = app.extensions["celery"]
        assert celery_app.conf.broker_url.startswith("sqla+sqlite:///")
        token = uuid.uuid4().hex
        result = celery_app.send_task("mda.ping", args=[token])
        try:
            answer = result.get(timeout=120)
        except Exception:
            pytest.fail(f"the worker did not answer the ping:\n{output()}")
        assert answer["token"] == token
        assert _processes_with_instance(instance), "expected the process tree to be running"
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(f"mda run did not stop on Ctrl-C:\n{output()}")

    assert "mda run: stopped." in output(), output()
    time.sleep(0.5)
    survivors = _processes_with_instance(instance)
    assert survivors == [], f"stray processes survived: {survivors}"
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)
