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


def test_describe_shows_the_latest_status_changes_and_says_how_many_are_left_out() -> None:
    from dockyard.client.cli.endpoints import HISTORY_SHOWN, _history_lines

    events = [
        {"time": 1_700_000_000_000 + i, "status": "InService", "message": f"change {i}"}
        for i in range(HISTORY_SHOWN + 5)
    ]
    head, rows = _history_lines(events)
    assert head == "history (5 earlier left out; --json has them all):"
    assert "change 4\n" not in rows + "\n" and rows.rstrip().endswith(f"change {len(events) - 1}")
    assert "change 5" in rows
    assert _history_lines(events[:3])[0] == "history:"
