"""The ``mda`` command: set up, run, and administer the product.

``mda run`` is the embedded default (web, Celery worker and beat in one process tree on
SQLite); ``mda worker`` and ``mda beat`` are for production, next to gunicorn.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
from flask import Flask


def _app(**overrides: Any) -> Flask:
    from config import ConfigError
    from mda import create_app

    try:
        return create_app(overrides or None)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(getattr(exc, "message", None) or str(exc))


@click.group(help=__doc__)
@click.version_option(package_name="mda")
def cli() -> None:
    pass


def main() -> None:
    cli(prog_name="mda")


def register_flask_cli(app: Flask) -> None:
    """Make the same commands reachable as ``flask --app mda ...``."""
    for name, command in cli.commands.items():
        if name not in app.cli.commands:
            app.cli.add_command(command, name)


# --- setting up -------------------------------------------------------------------------


def ensure_first_admin(app: Flask, username: str = "admin") -> str | None:
    """Create the first admin when there is none; return its one-time password, else None."""
    from sqlalchemy import select

    from mda.extensions import db
    from mda.models import User
    from mda.services.context import Actor
    from mda.services.passwords import one_time_password
    from mda.services.users import create_user
    from mda.vocabulary import Role

    with app.app_context():
        session = db.session
        if session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1)) is not None:
            return None
        password = one_time_password()
        create_user(
            session, Actor.system("cli"), username, password, Role.ADMIN, must_change_password=True
        )
        return password


@cli.command()
@click.option(
    "--admin",
    "admin_name",
    default="admin",
    show_default=True,
    help="Username of the first admin, created when there is no admin yet.",
)
def init(admin_name: str) -> None:
    """Create or upgrade the database, load the 28 regions, create a first admin."""
    from mda.dbtools import upgrade_database

    app = _app(AUTO_UPGRADE=False)
    click.echo(f"Database: {_safe_url(app.config['DATABASE_URL'])}")
    upgrade_database(app)
    click.echo("Schema up to date; 28 regions and default deadline rules loaded.")
    _announce_admin(app, admin_name)


def _announce_admin(app: Flask, admin_name: str) -> None:
    from mda.services.errors import DomainError

    try:
        password = ensure_first_admin(app, admin_name)
    except DomainError as exc:
        raise _fail(exc) from None
    if password:
        click.echo(f"First admin created: {admin_name}")
        click.echo(f"One-time password (shown once, change it at first sign-in): {password}")
    else:
        click.echo("An admin exists already; no account created.")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head) and load reference data."""
    from mda.dbtools import upgrade_database

    app = _app(AUTO_UPGRADE=False)
    upgrade_database(app, revision)
    click.echo(f"Upgraded {_safe_url(app.config['DATABASE_URL'])} to {revision}.")


# --- users ------------------------------------------------------------------------------


@cli.group()
def user() -> None:
    """User accounts."""


@user.command("create")
@click.argument("username")
@click.option("--role", required=True, help="coordinator, manager, programme, admin or auditor")
@click.option("--region", "regions", multiple=True, help="Region code; repeat for several.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_create(username: str, role: str, regions: tuple[str, ...], password_stdin: bool) -> None:
    """Create a user. The password comes from a prompt, or from stdin with --password-stdin."""
    from mda.extensions import db as database
    from mda.services.context import Actor
    from mda.services.errors import DomainError
    from mda.services.users import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("No password on standard input.")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    app = _app()
    with app.app_context():
        try:
            created = create_user(
                database.session, Actor.system("cli"), username, password, role, list(regions)
            )
        except DomainError as exc:
            raise _fail(exc) from None
        click.echo(
            f"Created {created.role.value} {created.username}"
            + (f" for {', '.join(created.region_list)}" if created.regions else "")
        )


# --- running ----------------------------------------------------------------------------


def _celery(app: Flask) -> Any:
    return app.extensions["celery"]


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Start a Celery worker; extra arguments go to Celery (e.g. --concurrency 4)."""
    app = _app()
    _celery(app).worker_main(["worker", "--loglevel=INFO", *ctx.args])


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def beat(ctx: click.Context) -> None:
    """Start Celery beat (run exactly one); extra arguments go to Celery."""
    app = _app()
    schedule = Path(app.instance_path) / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    _celery(app).start(["beat", "--loglevel=INFO", f"--schedule={schedule}", *ctx.args])


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--web-workers", default=2, show_default=True, type=int)
def run(host: str, port: int, web_workers: int) -> None:
    """Run everything on one machine: web server, Celery worker and beat. Ctrl-C stops all."""
    app = _app()  # creates the instance folder, secrets, schema and regions
    _announce_admin(app, "admin")
    env = dict(os.environ)
    env["MDA_INSTANCE_PATH"] = app.instance_path
    env["MDA_AUTO_UPGRADE"] = "false"  # done once, here, not raced by every child
    exe = sys.executable
    commands = {
        "web": [
            exe,
            "-m",
            "gunicorn",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(web_workers),
            "--threads",
            "4",
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "10",
            # One control socket per instance, so several instances can run side by side.
            "--control-socket",
            str(Path(app.instance_path) / "gunicorn.ctl"),
            "mda.wsgi:app",
        ],
        "worker": [
            exe,
            "-m",
            "mda",
            "worker",
            "--pool=threads",
            "--concurrency=2",
            "--hostname=mda@%h",
            "--without-mingle",
            "--without-gossip",
        ],
        "beat": [exe, "-m", "mda", "beat"],
    }
    click.echo(f"mda on http://{host}:{port}/ (instance folder {app.instance_path})")
    raise SystemExit(supervise(commands, env))


def supervise(
    commands: dict[str, list[str]], env: dict[str, str], grace_seconds: float = 20.0
) -> int:
    """Start the commands, wait until one ends or we are told to stop, then stop them all."""
    stopping = False

    def _stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    exit_code = 0
    try:
        for name, argv in commands.items():
            procs[name] = subprocess.Popen(argv, env=env)  # noqa: S603
        while not stopping:
            for name, proc in procs.items():
                code = proc.poll()
                if code is not None:
                    click.echo(
                        f"mda run: {name} exited with code {code}; stopping the rest.", err=True
                    )
                    exit_code = code or 1
                    stopping = True
                    break
            time.sleep(0.3)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for proc in procs.values():
            remaining = max(0.1, deadline - time.monotonic())
            try:
                proc.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("mda run: stopped.")
    return exit_code


# --- workflows --------------------------------------------------------------------------


@cli.group()
def workflow() -> None:
    """The workflows' state machines."""


@workflow.command("diagram")
@click.argument("name", type=click.Choice(["trajectory", "region"]))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "svg"]),
    default="mermaid",
    show_default=True,
    help="Mermaid text, or SVG drawn by graphviz (needs the dot program).",
)
def workflow_diagram(name: str, fmt: str) -> None:
    """Print the NAME workflow's machine, drawn from the same definitions the engine runs."""
    from mda.workflows import region, trajectory

    module = trajectory if name == "trajectory" else region
    try:
        drawn = module.diagram(fmt)
    except Exception as exc:  # graphviz missing: say so plainly
        if fmt == "svg":
            raise click.ClickException(
                f"SVG needs graphviz (the dot program) installed: {exc}"
            ) from None
        raise
    click.echo(drawn.decode() if isinstance(drawn, bytes) else drawn)
