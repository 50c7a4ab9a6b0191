"""`mda workflow diagram` prints each machine; docs/workflows.md shows exactly that output."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mda.cli import cli
from tests.support.servers import unavailable

DOCS = Path(__file__).resolve().parents[2] / "docs" / "workflows.md"


@pytest.mark.parametrize("name", ["trajectory", "region"])
def test_mermaid_diagram_is_printed_and_shown_in_the_docs(name):
    result = CliRunner().invoke(cli, ["workflow", "diagram", name])
    assert result.exit_code == 0, result.output
    assert "stateDiagram-v2" in result.output
    assert f"```mermaid\n{result.output.rstrip()}\n```" in DOCS.read_text()


def test_svg_diagram():
    if shutil.which("dot") is None:
        unavailable("graphviz (the dot program) is not installed")  # skips locally, fails in CI
    result = CliRunner().invoke(cli, ["workflow", "diagram", "trajectory", "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert "<svg" in result.output and "safety_established" in result.output


def test_unknown_workflow_is_refused():
    result = CliRunner().invoke(cli, ["workflow", "diagram", "payroll"])
    assert result.exit_code != 0 and "payroll" in result.output
