"""The benchmark suite in one command: W1-W4 of DESIGN.md section 9 on SQLite and PostgreSQL.

    python -m bench                          # everything, default sizes
    python -m bench --only w1 w3 --quick     # some of them, tiny sizes (a smoke run)
    python -m bench --write-docs             # and write the results into docs/benchmarks.md
    python -m bench --only w2 --households 20000 100000 --backends postgresql

Each benchmark runs on fresh databases of its own and prints its tables; a summary follows
with each one's ratio to its floor measured in the same run (``x floor``: the service's rate
over the floor's, 1.0 = as fast as the hand-written SQL). ``--write-docs`` replaces the part
of docs/benchmarks.md between ``<!-- bench:results -->`` and ``<!-- /bench:results -->`` with
the tables, the summary and the machine they were measured on.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bench import w1_transitions, w2_stats, w3_web, w4_sweep
from bench.support import backends, report

ALL = ["w1", "w2", "w3", "w4"]
DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
START, END = "<!-- bench:results -->", "<!-- /bench:results -->"

Rows = list[dict[str, object]]


class Results:
    def __init__(self) -> None:
        self.tables: list[tuple[str, Rows]] = []
        self.summary: Rows = []
        self.postgresql: str | None = None

    def table(self, title: str, rows: Rows) -> None:
        report(title, rows)
        self.tables.append((title, rows))

    def ratio(self, name: str, backend: str, figure: str, service: float, floor: float) -> None:
        self.summary.append(
            {
                "benchmark": name,
                "backend": backend,
                "figure": figure,
                "service": service,
                "floor": floor,
                "x floor": service / floor if floor else float("nan"),
            }
        )


def _server_version(results: Results, made: list) -> None:
    for backend in made:
        if backend.name == "postgresql" and results.postgresql is None:
            with backend.engine.connect() as conn:
                results.postgresql = str(conn.execute(text("SHOW server_version")).scalar_one())


def run_w1(results: Results, names: list[str], quick: bool) -> None:
    rows: Rows = []
    with backends(names) as made:
        _server_version(results, made)
        for backend in made:
            rows += w1_transitions.run(backend, 2 if quick else 50)
    results.table(w1_transitions.TITLE, rows)
    for row in rows:
        results.ratio(
            "W1 transitions", str(row["backend"]), "steps/s",
            float(row["service steps/s"]), float(row["floor steps/s"]),  # type: ignore[arg-type]
        )  # fmt: skip


W2_SIZES = [100_000, 1_000_000]


def run_w2(
    results: Results,
    names: list[str],
    quick: bool,
    sizes: list[int] | None = None,
    period: str = w2_stats.DEFAULT_PERIOD,
) -> None:
    sizes = [w2_stats.QUICK] if quick else (sizes or W2_SIZES)
    rows: Rows = []
    for households in sizes:
        with backends(names) as made:
            _server_version(results, made)
            for backend in made:
                rows += w2_stats.run(backend, households, period)
    results.table(w2_stats.TITLE, rows)
    if len(sizes) > 1:
        results.table(w2_stats.GROWTH_TITLE, w2_stats.growth(rows, period))
    for row in rows:
        if row["period"] == period:
            # A time, not a rate: the floor's rate over the release's, so 1.0 = as fast.
            results.ratio(
                "W2 release", str(row["backend"]), f"releases/s, {row['trajectories']} traj.",
                1 / float(row["release s"]), 1 / float(row["floor s"]),  # type: ignore[arg-type]
            )  # fmt: skip


def run_w3(results: Results, names: list[str], quick: bool) -> None:
    rows: Rows = []
    with backends(names) as made:
        _server_version(results, made)
        for backend in made:
            rows += w3_web.run(
                backend,
                households=100 if quick else 2000,
                clients=[1, 2] if quick else [1, 4, 8],
                seconds=0.25 if quick else 3.0,
                workers=1 if quick else 4,
            )
    results.table("W3 web: latency under concurrent clients", rows)
    floors = {
        (row["backend"], row["clients"]): float(row["req/s"])  # type: ignore[arg-type]
        for row in rows
        if str(row["what"]).startswith("floor")
    }
    for row in rows:
        if row["what"] == "worklist page":
            results.ratio(
                "W3 worklist page", str(row["backend"]), f"req/s, {row['clients']} clients",
                float(row["req/s"]), floors[(row["backend"], row["clients"])],  # type: ignore[arg-type]
            )  # fmt: skip
    if any(row["errors"] for row in rows):
        raise SystemExit("W3: some requests failed")


def run_w4(results: Results, names: list[str], quick: bool) -> None:
    throughput: Rows = []
    flat: Rows = []
    with backends(names) as made:
        _server_version(results, made)
        for backend in made:
            more, rows = w4_sweep.run(
                backend, 50 if quick else 1000, [1_000] if quick else [10_000, 100_000]
            )
            throughput += more
            flat += rows
    results.table(w4_sweep.THROUGHPUT_TITLE, throughput)
    results.table(w4_sweep.FLAT_TITLE, flat)
    for row in throughput:
        results.ratio(
            "W4 sweep", str(row["backend"]), "deadlines/s",
            float(row["swept/s (2 sweeps)"]), float(row["floor/s"]),  # type: ignore[arg-type]
        )  # fmt: skip
    if any(row["duplicates"] for row in throughput):
        raise SystemExit("W4: duplicates found")


RUNNERS = {"w1": run_w1, "w2": run_w2, "w3": run_w3, "w4": run_w4}


def machine(results: Results) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"PostgreSQL {results.postgresql or 'not run'}; "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}"
    )


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:.2f}" if value < 10 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def markdown(title: str, rows: Rows) -> str:
    if not rows:
        return ""
    columns = list(rows[0])
    lines = [f"**{title}**", "", "| " + " | ".join(columns) + " |"]
    lines.append("|" + "---|" * len(columns))
    lines += ["| " + " | ".join(_cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_docs(results: Results, command: str, skipped: list[str]) -> None:
    parts = [
        START,
        "",
        f"`{command}` on {machine(results)}.",
        "",
        markdown("Ratios to the floor (x floor: service rate / floor rate)", results.summary),
    ]
    parts += [markdown(title, rows) for title, rows in results.tables]
    if skipped:
        parts.append("Not built yet: " + ", ".join(skipped) + ".\n")
    parts.append(END)
    section = "\n".join(parts)
    current = DOCS.read_text()
    DOCS.write_text(with_results(current, section))
    print(f"\nwrote the results into {DOCS}")


def with_results(current: str, section: str) -> str:
    """``current`` with the results section replaced (or added at the end). The markers
    count only on lines of their own: the text that explains them quotes them too."""
    pattern = re.compile(f"^{re.escape(START)}$.*?^{re.escape(END)}$", re.S | re.M)
    if pattern.search(current):
        return pattern.sub(lambda _m: section, current, count=1)
    return current.rstrip("\n") + "\n\n## Results of `python -m bench`\n\n" + section + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=ALL, default=ALL, metavar="W",
                        help="w1 w2 w3 w4 (default: all)")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--households", type=int, nargs="+", default=W2_SIZES,
                        help="W2: sizes in demo households (default 100000 1000000)")  # fmt: skip
    parser.add_argument("--period", default=w2_stats.DEFAULT_PERIOD,
                        help="W2: a month (2026-12) or a half year (2026-H2)")  # fmt: skip
    parser.add_argument("--write-docs", action="store_true",
                        help=f"write the results into {DOCS.name}")  # fmt: skip
    args = parser.parse_args()
    results = Results()
    skipped = []
    for name in ALL:
        if name not in args.only:
            continue
        if name not in RUNNERS:
            print(f"\n== {name.upper()}: not built (comes with its issue)")
            skipped.append(name.upper())
            continue
        if name == "w2":
            run_w2(results, args.backends, args.quick, args.households, args.period)
        else:
            RUNNERS[name](results, args.backends, args.quick)
    report("Summary: each benchmark against its floor, measured in the same run", results.summary)
    for name in skipped:
        print(f"{name}: not built")
    if args.write_docs:
        command = "python -m bench " + " ".join(
            [*(["--only", *args.only] if args.only != ALL else []),
             *(["--quick"] if args.quick else []),
             *(["--backends", *args.backends] if args.backends != ["sqlite", "postgresql"] else [])]
        )  # fmt: skip
        write_docs(results, command.strip(), skipped)


if __name__ == "__main__":
    main()
