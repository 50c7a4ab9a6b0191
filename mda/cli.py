"""The ``mda`` command: set up, run, and administer the product.

``mda run`` is the embedded default (web, Celery worker and beat in one process tree on
SQLite); ``mda worker`` and ``mda beat`` are for production, next to gunicorn.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
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


# --- pseudonym keys and retention -------------------------------------------------------


@cli.group()
def keys() -> None:
    """Pseudonym keys and their rotation."""


@keys.command("status")
def keys_status() -> None:
    """How many trajectories are on each key version, and which versions are configured.

    Works on a database the app refuses at start-up for a missing key: it names what is
    missing. An old key can be dropped once no trajectory is left on its version.
    """
    from mda.extensions import db as database
    from mda.services.pseudonyms import UNLINKED_VERSION, PseudonymKeys, key_version_counts

    app = _app(CHECK_PSEUDONYM_KEY_VERSIONS=False)
    try:
        configured = PseudonymKeys.from_config(app.config)
    except RuntimeError as exc:
        raise _fail(exc) from None
    with app.app_context():
        counts = key_version_counts(database.session)
    current = configured.current_version
    click.echo(f"Current key version: {current}")
    old = sorted(configured.versions() - {current})
    click.echo("Configured old versions: " + (", ".join(map(str, old)) or "none"))
    missing = False
    for version in sorted(set(counts) | configured.versions()):
        count = counts.get(version, 0)
        if version == UNLINKED_VERSION:
            note = "unlinked by retention, needs no key"
        elif version == current:
            note = "current"
        elif version in configured.versions():
            note = "old key, still needed" if count else "old key, no longer needed: remove it"
        else:
            note = "NOT CONFIGURED: the app refuses to start"
            missing = True
        click.echo(f"  version {version}: {count} trajector{'y' if count == 1 else 'ies'} ({note})")
    if missing:
        raise SystemExit(1)


@cli.group()
def retention() -> None:
    """Retention of closed trajectories and of the access log."""


@retention.command("run")
def retention_run() -> None:
    """Apply retention now (the beat task does it daily): reduce and prune what is due."""
    from mda.extensions import db as database
    from mda.services.context import Actor
    from mda.services.retention import run_retention

    app = _app()
    with app.app_context():
        result = run_retention(
            database.session,
            retention_years=int(app.config["RETENTION_YEARS"]),
            access_log_years=int(app.config["ACCESS_LOG_RETENTION_YEARS"]),
            actor=Actor.system("cli"),
        )
    click.echo(
        f"Reduced {result.trajectories} closed trajectories ({result.events} events); "
        f"deleted {result.access_log} access-log rows."
    )


@cli.group()
def deadlines() -> None:
    """Deadlines and their reminders."""


@deadlines.command("sweep")
def deadlines_sweep() -> None:
    """Sweep the due deadlines now, as beat does every MDA_SWEEP_INTERVAL_SECONDS.

    Notifications are written here; their e-mails are sent by the worker (tasks dispatched
    after the commit). Safe beside a running beat: nothing is sent twice.
    """
    from mda.extensions import db as database
    from mda.services.sweep import SweepOptions, sweep
    from worker.tasks import dispatch_delivery

    app = _app()
    with app.app_context():
        result = sweep(
            database.session,
            SweepOptions.from_config(app.config, worker=f"cli@{socket.gethostname()}"),
            dispatch=dispatch_delivery,
        )
    click.echo(
        f"Swept {result.claimed} due deadline(s): {result.notifications} notification(s), "
        f"{result.skipped} rung(s) skipped, {result.dispatched} of "
        f"{len(result.delivery_ids)} e-mail(s) handed to the worker ({result.duration_ms} ms)."
    )


# --- demo data --------------------------------------------------------------------------


@cli.command()
@click.option("--households", type=click.IntRange(min=1), required=True, help="How many.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same data.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First registration day (default: three years ago).",
)
@click.option("--force", is_flag=True, help="Add them even beside real trajectories.")
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    help="Processes simulating households (default: up to two for a large run); the data "
    "is the same whatever their number.",
)
def demo(households: int, seed: int, since: Any, force: bool, processes: int | None) -> None:
    """Add a synthetic population of demo households (pseudonyms DEMO-...) to the database."""
    from mda.demo import DemoRefused, generate
    from mda.extensions import db as database
    from mda.services.settings import Settings

    app = _app()
    settings = Settings.from_config(app.config)
    stages = {
        "indexes": "Demo households written; building indexes, checking foreign keys",
        "analyze": "Demo households written; updating the planner's statistics",
    }
    with click.progressbar(length=households, label="Demo households") as bar:

        def stage(name: str) -> None:
            bar.label = stages[name]
            bar.render_progress()

        try:
            result = generate(
                database.state(app).engine,
                households=households,
                seed=seed,
                since=since.date() if since else None,
                progress=bar.update,
                force=force,
                keys=settings.pseudonym_keys,
                screening_rule=settings.screening_rule,
                processes=processes,
                stage=stage,
            )
        except DemoRefused as exc:
            raise _fail(exc) from None
    click.echo(result.summary())


@cli.group()
def stats() -> None:
    """Statistics releases for the programme (disclosure-controlled)."""


@stats.command("release")
@click.option("--period", required=True, help="A month like 2026-10 or a half year like 2026-H2.")
def stats_release(period: str) -> None:
    """Make the release of a closed period now (beat does it after each period closes).

    The same data gives the same release: no new version when nothing changed.
    """
    from mda.extensions import db as database
    from mda.services.context import Actor
    from mda.services.errors import DomainError
    from mda.stats.disclosure import DisclosureRefused, DisclosureSettings
    from mda.stats.releases import STAGES, make_release

    app = _app()
    settings = DisclosureSettings.from_config(app.config)
    with (
        app.app_context(),
        click.progressbar(length=len(STAGES), label=f"Releasing {period}", file=sys.stderr) as bar,
    ):

        def step(stage: str) -> None:
            bar.label = f"Releasing {period}: {stage}"
            bar.update(1)

        try:
            release, made = make_release(
                database.session, Actor.system("cli"), period, settings=settings, progress=step
            )
        except DomainError as exc:
            raise _fail(exc) from None
        except DisclosureRefused as exc:
            detail = ""
            if exc.already:
                detail = (
                    f" {len(exc.already)} of them already are by the earlier releases of "
                    f"{', '.join(sorted({key[0] for key in exc.already}))} alone (a new version"
                    " of a month whose half year is published, after its data changed):"
                    " suppressing more in this release cannot protect them."
                )
            raise click.ClickException(
                f"The audit refused the release of {period}: {len(exc.failures)} suppressed "
                f"cell(s) could be narrowed down too far.{detail} Nothing was published."
            ) from None
    if made:
        click.echo(
            f"Released {release.period} version {release.version} (id {release.id}, "
            f"checksum {release.checksum[:12]})."
        )
    else:
        click.echo(
            f"{release.period} version {release.version} (id {release.id}) already holds "
            "these figures; no new version."
        )


# --- running ----------------------------------------------------------------------------


def _celery(app: Flask) -> Any:
    return app.extensions["celery"]


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Start a Celery worker; extra arguments go to Celery (e.g. --concurrency 4)."""
    from mda import freeze_loaded

    app = _app()
    celery = _celery(app)
    freeze_loaded()  # a long-running process: see there
    celery.worker_main(["worker", "--loglevel=INFO", *ctx.args])


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def beat(ctx: click.Context) -> None:
    """Start Celery beat (run exactly one); extra arguments go to Celery."""
    app = _app()
    schedule = Path(app.instance_path) / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    _celery(app).start(["beat", "--loglevel=INFO", f"--schedule={schedule}", *ctx.args])


LOCK_FILE = "mda-run.lock"


def _embedded_instance_folder() -> Path:
    """The instance folder ``create_app`` will use, worked out before anything is created."""
    from config import ConfigError, load_settings
    from mda import instance_folder

    try:
        return Path(instance_folder(load_settings()))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _lock_instance(folder: Path, host: str, port: int) -> int:
    """Take the instance folder's run lock, or refuse naming the ``mda run`` that holds it.

    An ``flock`` on an open file: the kernel drops it when the last process holding the file
    open ends, so a crash leaves no stale lock behind, only a stale pid in the file that the
    next ``mda run`` overwrites. The children get the descriptor too (see ``supervise``), so
    the lock lasts as long as any process of the tree, and the tree can never run twice.
    Returns the descriptor; ``_unlock_instance`` releases it.
    """
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _lock_holder(fd)
        os.close(fd)
        raise click.ClickException(_refusal(folder, holder)) from None
    except BaseException:
        os.close(fd)
        raise
    record = {"pid": os.getpid(), "host": host, "port": port, "started": time.time()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
    return fd


def _lock_holder(fd: int) -> dict[str, Any]:
    """What the holder wrote into the lock file; it may be a moment from writing it."""
    deadline = time.monotonic() + 2.0
    while True:
        raw = os.pread(fd, 4096, 0)
        try:
            holder = json.loads(raw)
            if isinstance(holder, dict):
                return holder
        except ValueError:
            pass
        if time.monotonic() > deadline:
            return {}
        time.sleep(0.05)


def _refusal(folder: Path, holder: dict[str, Any]) -> str:
    pid = holder.get("pid")
    where = f"http://{holder['host']}:{holder['port']}/" if holder.get("port") else None
    named = ", ".join(str(part) for part in (f"pid {pid}" if pid else None, where) if part)
    message = (
        f"mda run is already running on the instance folder {folder}"
        + (f" ({named})" if named else "")
        + "; only one may run per folder (it would start a second worker and beat)."
    )
    if isinstance(pid, int) and not _alive(pid):
        message += (
            f" Process {pid} has ended, but processes it started still hold the lock;"
            " wait for them to stop."
        )
    else:
        message += " Stop it first (Ctrl-C where it runs), or use another MDA_INSTANCE_PATH."
    return message


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unlock_instance(fd: int) -> None:
    """Clear the pid (so nobody reads a stale one) and release the lock."""
    try:
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)


def _check_port_free(host: str, port: int) -> None:
    """Refuse at once when the port is taken, rather than restarting the web server forever."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise click.ClickException(f"Cannot listen on {host}:{port}: {exc}") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does
        try:
            probe.bind(address)
        except OSError as exc:
            raise click.ClickException(
                f"Cannot listen on {host}:{port} ({exc.strerror}); is something else using"
                " that port? Choose another with --port."
            ) from None


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--web-workers", default=2, show_default=True, type=int)
def run(host: str, port: int, web_workers: int) -> None:
    """Run web server, Celery worker and beat on one machine; one that dies is restarted.

    One per instance folder. Ctrl-C stops all.
    """
    # Everything this process tree creates (database, WAL, broker, beat schedule, socket) is
    # for its owner only; the children inherit the umask.
    previous_umask = os.umask(0o077)
    try:
        folder = _embedded_instance_folder()
        from mda.secrets import secure_instance_folder

        secure_instance_folder(folder)
        lock_fd = _lock_instance(folder, host, port)  # before migrations, before any child
        try:
            _check_port_free(host, port)
            code = _run_locked(host, port, web_workers, lock_fd)
        finally:
            _unlock_instance(lock_fd)
    finally:
        os.umask(previous_umask)
    raise SystemExit(code)


def _run_locked(host: str, port: int, web_workers: int, lock_fd: int) -> int:
    from worker import declare_broker_queues

    app = _app()  # creates secrets, schema and regions
    _announce_admin(app, "admin")
    # The broker's queues exist before the children that share them start (see there).
    declare_broker_queues(_celery(app))
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
    return supervise(commands, env, pass_fds=(lock_fd,))


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when this process dies (Linux).

    Without it a ``kill -9`` of ``mda run`` would leave the worker and beat running orphaned,
    holding the instance lock, with nobody to stop them.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _exit_in_words(code: int) -> str:
    if code < 0:
        try:
            return f"code {code} (killed by {signal.Signals(-code).name})"
        except ValueError:
            pass
    return f"code {code}"


def supervise(
    commands: dict[str, list[str]],
    env: dict[str, str],
    grace_seconds: float = 20.0,
    *,
    pass_fds: tuple[int, ...] = (),
    first_delay: float = 1.0,
    max_delay: float = 30.0,
    healthy_after: float = 60.0,
) -> int:
    """Start the commands, restart any that ends, and stop them all when told to stop.

    A child that ends is started again after a back-off: ``first_delay``, doubled at each
    further end up to ``max_delay``, and back to ``first_delay`` once it had run for
    ``healthy_after`` seconds. SIGINT (Ctrl-C) or SIGTERM stops every child (SIGTERM, then
    SIGKILL after ``grace_seconds``) and returns 0.
    """
    stopping = False

    def _stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    preexec = _die_with_parent()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    started: dict[str, float] = {}
    delays = dict.fromkeys(commands, first_delay)
    restart_at: dict[str, float] = {}

    def start(name: str) -> None:
        procs[name] = subprocess.Popen(  # noqa: S603
            commands[name], env=env, pass_fds=pass_fds, preexec_fn=preexec
        )
        started[name] = time.monotonic()

    try:
        for name in commands:
            start(name)
        while not stopping:
            now = time.monotonic()
            for name, proc in procs.items():
                if name in restart_at:
                    continue
                code = proc.poll()
                if code is None:
                    continue
                if now - started[name] >= healthy_after:
                    delays[name] = first_delay
                delay = delays[name]
                delays[name] = min(delay * 2, max_delay)
                restart_at[name] = now + delay
                click.echo(
                    f"mda run: {name} exited with {_exit_in_words(code)}; "
                    f"restarting in {delay:g} s.",
                    err=True,
                )
            for name, when in list(restart_at.items()):
                if now >= when and not stopping:
                    del restart_at[name]
                    start(name)
                    click.echo(f"mda run: {name} restarted (pid {procs[name].pid}).", err=True)
            time.sleep(0.2)
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
    return 0


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
                "SVG needs the graphviz extra (pip install 'mda[diagrams]') and the dot "
                f"program (Debian: apt-get install graphviz): {exc}"
            ) from None
        raise
    click.echo(drawn.decode() if isinstance(drawn, bytes) else drawn)
