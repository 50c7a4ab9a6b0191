import pytest
from click.testing import CliRunner
from sqlalchemy import select

from mda.cli import cli
from mda.models import User
from mda.services.passwords import verify_password


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """The embedded default in a fresh instance folder, as a newcomer would run it."""
    for key in (
        "MDA_ENV",
        "MDA_DATABASE_URL",
        "MDA_BROKER_URL",
        "MDA_SECRET_KEY",
        "MDA_PSEUDONYM_KEY",
        "MDA_RESULT_BACKEND",
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MDA_INSTANCE_PATH", str(tmp_path / "instance"))
    return tmp_path / "instance"


def _users(instance):
    from sqlalchemy.orm import Session

    from mda.extensions import make_engine

    engine = make_engine(f"sqlite:///{instance / 'mda.sqlite'}")
    with Session(engine) as session:
        users = {u.username: u for u in session.scalars(select(User))}
        for u in users.values():
            _ = u.regions
        return users


def test_init_creates_schema_regions_and_a_first_admin_once(cli_env):
    runner = CliRunner()
    first = runner.invoke(cli, ["init"])
    assert first.exit_code == 0, first.output
    assert "28 regions" in first.output
    password = first.output.split("change it at first sign-in): ")[1].strip()
    admin = _users(cli_env)["admin"]
    assert admin.role.value == "admin"
    assert admin.must_change_password
    assert verify_password(admin.password_hash, password)
    assert password not in admin.password_hash

    second = runner.invoke(cli, ["init"])
    assert second.exit_code == 0, second.output
    assert "An admin exists already" in second.output
    assert "One-time password" not in second.output


def test_user_create_from_stdin_for_scripts(cli_env):
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    result = runner.invoke(
        cli,
        [
            "user",
            "create",
            "c.jansen",
            "--role",
            "coordinator",
            "--region",
            "UTR",
            "--region",
            "ama",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created coordinator c.jansen for AMA, UTR" in result.output
    created = _users(cli_env)["c.jansen"]
    assert sorted(r.code for r in created.regions) == ["AMA", "UTR"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["x.y", "--role", "boss"], "a long enough password\n", "Unknown role 'boss'"),
        (["x.y", "--role", "coordinator"], "a long enough password\n", "needs at least one region"),
        (
            ["x.y", "--role", "coordinator", "--region", "XXX"],
            "a long enough password\n",
            "Unknown region code(s): XXX",
        ),
        (["x.y", "--role", "auditor"], "short\n", "at least 12 characters"),
        (
            ["x.y", "--role", "programme", "--region", "UTR"],
            "a long enough password\n",
            "takes no region",
        ),
        (["x.y", "--role", "auditor"], "\n", "No password on standard input"),
    ],
)
def test_user_create_refuses_bad_input_clearly(cli_env, args, stdin, message):
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    result = runner.invoke(cli, ["user", "create", *args, "--password-stdin"], input=stdin)
    assert result.exit_code != 0
    assert message in result.output
    assert "x.y" not in _users(cli_env)


def test_retention_run_and_keys_status_on_a_fresh_instance(cli_env):
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    result = runner.invoke(cli, ["retention", "run"])
    assert result.exit_code == 0, result.output
    assert "Reduced 0 closed trajectories (0 events); deleted 0 access-log rows." in result.output
    status = runner.invoke(cli, ["keys", "status"])
    assert status.exit_code == 0, status.output
    assert "Current key version: 1" in status.output
    assert "  version 1: 0 trajectories (current)" in status.output


def test_worker_starts_with_what_it_loaded_frozen_for_the_collector(cli_env, monkeypatch):
    """``mda worker`` settles as gunicorn's workers do (``mda.freeze_loaded``) before Celery
    takes over; Celery itself is replaced here, the real worker runs in tests/test_run.py."""
    import gc

    from mda import cli as mda_cli

    seen: list[tuple[int, list[str]]] = []

    class Celery:
        def worker_main(self, argv: list[str]) -> None:
            seen.append((gc.get_freeze_count(), argv))

    monkeypatch.setattr(mda_cli, "_celery", lambda app: Celery())
    try:
        result = CliRunner().invoke(cli, ["worker", "--concurrency", "2"])
    finally:
        gc.unfreeze()  # the test process goes on as before
    assert result.exit_code == 0, result.output
    [(frozen, argv)] = seen
    assert frozen > 100_000
    assert argv == ["worker", "--loglevel=INFO", "--concurrency", "2"]
