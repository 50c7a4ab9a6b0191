"""Key rotation can finish (issue 9 point 7): start-up refuses a key version it cannot read,
and ``mda keys status`` shows what is left on each version."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from sqlalchemy.orm import Session

from config import ConfigError
from mda.cli import cli
from mda.extensions import make_engine
from mda.models import Trajectory
from tests.conftest import make_test_app, migrate
from tests.support import factories


def _database_with_versions(path, versions):
    """A migrated SQLite file with one trajectory per entry of ``versions``."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with Session(engine, expire_on_commit=False) as session:
        coordinator = factories.user(session, regions=["UTR"])
        for n, version in enumerate(versions):
            row = factories.trajectory(session, coordinator, reference=f"VT-KEY-{n:04d}")
            session.execute(
                update(Trajectory).where(Trajectory.id == row.id).values(key_version=version)
            )
        session.commit()
    engine.dispose()
    return f"sqlite:///{path}"


def test_start_up_refuses_a_key_version_with_no_configured_key(tmp_path):
    url = _database_with_versions(tmp_path / "mda.sqlite", [1, 3, 3])
    with pytest.raises(ConfigError, match=r"key version\(s\) 3,") as refused:
        make_test_app(url, INSTANCE_PATH=str(tmp_path / "i1"))
    assert "MDA_PSEUDONYM_OLD_KEYS" in str(refused.value)
    # With the old key configured (or once no trajectory is left on 3) it starts.
    make_test_app(url, INSTANCE_PATH=str(tmp_path / "i2"), PSEUDONYM_OLD_KEYS="3:old key")


def test_start_up_accepts_a_fresh_database_and_unlinked_rows(tmp_path):
    make_test_app(f"sqlite:///{tmp_path / 'empty.sqlite'}", INSTANCE_PATH=str(tmp_path / "i"))
    url = _database_with_versions(tmp_path / "mda.sqlite", [1, 0])
    make_test_app(url, INSTANCE_PATH=str(tmp_path / "i3"))


def test_keys_status_counts_each_version_and_names_what_is_missing(tmp_path, monkeypatch):
    url = _database_with_versions(tmp_path / "mda.sqlite", [1, 1, 2, 3, 0])
    for key, value in {
        "MDA_ENV": "testing",
        "MDA_DATABASE_URL": url,
        "MDA_INSTANCE_PATH": str(tmp_path / "instance"),
        "MDA_PSEUDONYM_KEY_VERSION": "2",
        "MDA_PSEUDONYM_OLD_KEYS": "1:first,4:fourth",
    }.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, ["keys", "status"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert "Current key version: 2" in lines
    assert "Configured old versions: 1, 4" in lines
    assert "  version 0: 1 trajectory (unlinked by retention, needs no key)" in lines
    assert "  version 1: 2 trajectories (old key, still needed)" in lines
    assert "  version 2: 1 trajectory (current)" in lines
    assert "  version 3: 1 trajectory (NOT CONFIGURED: the app refuses to start)" in lines
    assert "  version 4: 0 trajectories (old key, no longer needed: remove it)" in lines

    monkeypatch.setenv("MDA_PSEUDONYM_OLD_KEYS", "1:first,3:third")
    assert CliRunner().invoke(cli, ["keys", "status"]).exit_code == 0
