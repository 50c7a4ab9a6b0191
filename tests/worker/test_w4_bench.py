"""W4 (bench/w4_sweep.py) runs once at a small size on both backends: no duplicates, and its
tables print. Timing is the benchmark's business, not the test's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_w4_runs_on_both_backends_without_duplicates() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.w4_sweep", "--due", "20", "--future", "200",
         "--backends", "sqlite", "postgresql"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = result.stdout.split("duplicates (must be 0)", 1)[-1].split("\n==", 1)[0]
    rows = [line.split() for line in table.splitlines() if line.startswith(("sqlite", "postgres"))]
    assert {row[0] for row in rows} == {"sqlite", "postgresql"}, result.stdout
    assert all(row[-1] == "0" and row[-2] == "20" for row in rows), result.stdout
