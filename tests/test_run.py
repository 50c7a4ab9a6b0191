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
    proc = subprocess.Popen(
        [sys.executable, "-m", "mda", "run", "--port", str(port), "--web-workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert wait_for_port(port, timeout=60), "the web server did not come up"
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
        answer = result.get(timeout=90)
        assert answer["token"] == token
        assert _processes_with_instance(instance), "expected the process tree to be running"
    finally:
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        try:
            output, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
            pytest.fail(f"mda run did not stop on Ctrl-C:\n{output.decode(errors='replace')}")

    assert b"mda run: stopped." in output, output.decode(errors="replace")
    time.sleep(0.5)
    survivors = _processes_with_instance(instance)
    assert survivors == [], f"stray processes survived: {survivors}"
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)
