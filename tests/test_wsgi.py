"""``mda.wsgi``, what gunicorn loads: the app, and the collector told to leave it alone."""

from __future__ import annotations

import os
import subprocess
import sys


def test_the_app_loaded_by_gunicorn_is_frozen_for_the_collector(tmp_path):
    """Full collections walk only what requests made, not the app loaded at start (W3: they
    stalled a worker for 100-150 ms under load)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MDA_")}
    env["MDA_INSTANCE_PATH"] = str(tmp_path / "instance")
    probe = (
        "import gc; import mda.wsgi; "
        "print(gc.get_freeze_count(), sum(gc.get_count()), callable(mda.wsgi.app))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    frozen, pending, callable_app = done.stdout.split()
    assert callable_app == "True"
    # The app's modules, mappers and catalogues: far more than a bare interpreter holds.
    assert int(frozen) > 100_000, done.stdout
    assert int(pending) < 1_000, done.stdout  # nothing left behind for the next collection
