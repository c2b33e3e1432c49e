"""``dockyard endpoints``: what the command line checks before it reaches an endpoint."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from dockyard.client.cli import cli


def test_invoke_names_a_data_file_it_cannot_read(tmp_path: Path) -> None:
    missing = tmp_path / "rows.json"
    result = CliRunner().invoke(cli, ["endpoints", "invoke", "web", "--data", f"@{missing}"])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "--data" in result.output and str(missing) in result.output
