"""Every benchmark runs once at a small size, so a change that breaks one fails here.

Timing is the benchmarks' business, not the tests'; this only checks that they run to the
end on both backends and print their table.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_w1_runs_on_both_backends() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.w1_transitions", "--trajectories", "2",
         "--backends", "sqlite", "postgresql"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = result.stdout.split("== W1 transitions", 1)[-1]
    for backend in ("sqlite", "postgresql"):
        assert any(line.startswith(backend) for line in table.splitlines()), result.stdout


def test_suite_runner_runs_w3_quick_on_both_backends() -> None:
    """``python -m bench --only w3 --quick``: the web benchmark end to end."""
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "w3", "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = result.stdout.split("== W3 web", 1)[-1].split("== Summary", 1)[0]
    for backend in ("sqlite", "postgresql"):
        rows = [line for line in table.splitlines() if line.startswith(backend)]
        for what in ("api read", "api list", "worklist page", "floor (worklist SQL)"):
            assert any(what in line for line in rows), result.stdout
    summary = result.stdout.split("== Summary", 1)[-1]
    assert "W3 worklist page" in summary, result.stdout


def test_suite_runner_runs_w2_quick_on_both_backends() -> None:
    """``python -m bench --only w2 --quick``: a month's release against the hand-written
    aggregate, whose counts the bench checks against the release's (a half year, the
    default, makes seven releases: too long for a smoke run on a shared machine)."""
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "w2", "--quick", "--period", "2026-12"],
        cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = result.stdout.split("== W2 statistics", 1)[-1].split("== Summary", 1)[0]
    for backend in ("sqlite", "postgresql"):
        rows = [line for line in table.splitlines() if line.startswith(backend)]
        assert any("2026-12" in line for line in rows), result.stdout
    for column in ("aggregate s", "disclosure s", "floor s", "x floor"):
        assert column in table, result.stdout
    summary = result.stdout.split("== Summary", 1)[-1]
    assert "W2 release" in summary, result.stdout


def test_the_results_go_between_the_markers_on_lines_of_their_own():
    """The docs quote the markers in their prose; only the section at the end is replaced."""
    from bench.__main__ import END, START, with_results

    prose = f"`--write-docs` writes between `{START}` and\n`{END}` (at the end).\n"
    current = f"# Benchmarks\n\n{prose}\n## Results\n\n{START}\nold figures\n{END}\n"
    updated = with_results(current, f"{START}\nnew figures\n{END}")
    assert prose in updated
    assert "new figures" in updated and "old figures" not in updated
    assert updated.index("new figures") > updated.index("## Results")
    # Without a section yet, one is added at the end.
    added = with_results("# Benchmarks\n", f"{START}\nfigures\n{END}")
    assert added.endswith(f"{START}\nfigures\n{END}\n")
