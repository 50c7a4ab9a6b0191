"""Shared bench harness: databases on both backends, timing, and a uniform report.

Every benchmark prints its figures and a ratio against a floor measured in the same run on the
same machine, so the numbers compare across machines. Run one with
``python -m bench.<name> --help``.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from mda.dbtools import load_reference_data, upgrade_connection
from mda.extensions import make_engine


@dataclass
class Backend:
    name: str
    engine: Engine
    cleanup: Callable[[], None] = field(default=lambda: None)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)


def migrated(engine: Engine) -> Engine:
    with engine.begin() as conn:
        upgrade_connection(conn)
    with Session(engine) as session:
        load_reference_data(session)
        session.commit()
    return engine


@contextlib.contextmanager
def backends(names: list[str]) -> Iterator[list[Backend]]:
    """Fresh migrated databases: SQLite in a temporary file, PostgreSQL on a private server."""
    made: list[Backend] = []
    stack = contextlib.ExitStack()
    try:
        for name in names:
            if name == "sqlite":
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="mda-bench-"))
                engine = migrated(make_engine(f"sqlite:///{Path(folder) / 'bench.sqlite'}"))
                made.append(Backend("sqlite", engine, engine.dispose))
            elif name == "postgresql":
                from tests.support.servers import start_postgres

                server = start_postgres()
                stack.callback(server.stop)
                admin = make_engine(server.url, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text('CREATE DATABASE "mda_bench"'))
                admin.dispose()
                url = make_engine(server.url).url.set(database="mda_bench")
                engine = migrated(make_engine(url.render_as_string(hide_password=False)))
                made.append(Backend("postgresql", engine, engine.dispose))
            else:
                raise SystemExit(f"unknown backend {name!r}: use sqlite or postgresql")
        yield made
    finally:
        for backend in made:
            backend.cleanup()
        stack.close()


class Timer:
    def __init__(self) -> None:
        self.samples: list[float] = []

    @contextlib.contextmanager
    def measure(self) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.samples.append(time.perf_counter() - start)

    @property
    def total(self) -> float:
        return sum(self.samples)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.samples)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
        return ordered[index]

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")


def progress(done: int, total: int, label: str = "") -> None:
    """A one-line progress bar on stderr for long runs."""
    if not sys.stderr.isatty() and done not in (total,):
        return
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def report(title: str, rows: list[dict[str, object]]) -> None:
    """Print rows as an aligned table."""
    print(f"\n== {title}")
    if not rows:
        return
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(_fmt(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(_fmt(row[c]).ljust(widths[c]) for c in columns))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:.0f}"
    return str(value)
