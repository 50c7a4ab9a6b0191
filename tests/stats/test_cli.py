"""``mda stats release``: on demand, with a progress bar, idempotent."""

from __future__ import annotations

from click.testing import CliRunner

from mda.cli import cli
from tests.test_cli import cli_env  # noqa: F401  (the fixture)


def test_stats_release_on_a_fresh_instance(cli_env):  # noqa: F811
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    first = runner.invoke(cli, ["stats", "release", "--period", "2025-10"])
    assert first.exit_code == 0, first.output
    assert "Released 2025-10 version 1" in first.output
    again = runner.invoke(cli, ["stats", "release", "--period", "2025-10"])
    assert again.exit_code == 0, again.output
    assert "already holds these figures; no new version" in again.output
    half = runner.invoke(cli, ["stats", "release", "--period", "2025-H2"])
    assert half.exit_code == 0 and "Released 2025-H2 version 1" in half.output


def test_stats_release_refuses_a_bad_or_open_period(cli_env):  # noqa: F811
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    bad = runner.invoke(cli, ["stats", "release", "--period", "2025-13"])
    assert bad.exit_code != 0 and "like 2026-10" in bad.output
    future = runner.invoke(cli, ["stats", "release", "--period", "2999-01"])
    assert future.exit_code != 0 and "has not ended yet" in future.output
