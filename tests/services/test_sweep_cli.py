"""``mda deadlines sweep``: one sweep now, from the command line, safe to run twice."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from mda.cli import cli
from mda.services.pseudonyms import PseudonymKeys
from tests.worker.test_reminders import seed


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    for key in ("MDA_ENV", "MDA_DATABASE_URL", "MDA_BROKER_URL", "MDA_SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    for key in ("MDA_PSEUDONYM_KEY", "MDA_RESULT_BACKEND"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MDA_INSTANCE_PATH", str(tmp_path / "instance"))
    # The e-mail tasks run in this process (no worker here), after the sweep's commit.
    monkeypatch.setenv("MDA_CELERY_TASK_ALWAYS_EAGER", "true")
    monkeypatch.setenv("MDA_DIGEST_HOUR", "24")
    return tmp_path / "instance"


def test_deadlines_sweep_command_sweeps_once(cli_env):
    from mda import create_app
    from mda.extensions import db

    app = create_app()
    with app.app_context():
        seed(db.session, PseudonymKeys.from_config(app.config), "CLI-LATE-1")
    runner = CliRunner()
    first = runner.invoke(cli, ["deadlines", "sweep"])
    assert first.exit_code == 0, first.output
    assert "Swept 1 due deadline(s): 3 notification(s), 5 rung(s) skipped" in first.output
    assert "3 of 3 e-mail(s) handed to the worker" in first.output
    assert len(list((cli_env / "mail").glob("delivery-*.eml"))) == 3
    second = runner.invoke(cli, ["deadlines", "sweep"])
    assert second.exit_code == 0, second.output
    assert "Swept 0 due deadline(s): 0 notification(s)" in second.output
    assert len(list((cli_env / "mail").glob("delivery-*.eml"))) == 3
