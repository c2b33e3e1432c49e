"""``dockyard audit``: the latest events unless told where to start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockyard.client.cli import cli


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCKYARD_URI", raising=False)
    made = CliRunner()
    for name in ("first", "second", "third", "fourth"):
        assert made.invoke(cli, ["experiments", "create", name]).exit_code == 0
    return made


def _created(runner: CliRunner, *args: str) -> list[str]:
    result = runner.invoke(cli, ["audit", "-t", "experiment.created", "--json", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line)["body"]["name"] for line in result.output.splitlines()]


def test_without_a_start_the_latest_events_are_shown_in_order(runner: CliRunner) -> None:
    assert _created(runner, "--limit", "2") == ["third", "fourth"]
    assert _created(runner) == ["first", "second", "third", "fourth"]


def test_the_table_says_which_credential_each_actor_used(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["audit", "-t", "experiment.created", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.split()[:4] == ["ID", "TIME", "ACTOR", "VIA"]


def test_after_and_since_start_from_the_oldest(runner: CliRunner) -> None:
    assert _created(runner, "--after", "0", "--limit", "2") == ["first", "second"]
    assert _created(runner, "--since", "1h", "--limit", "1") == ["first"]


@pytest.mark.parametrize("span", ["99999999d", f"{'9' * 400}d"], ids=["before-1970", "inf"])
def test_a_span_reaching_before_the_epoch_means_every_event(runner: CliRunner, span: str) -> None:
    # It was refused as "since: Input should be greater than or equal to 0" (or an overflow).
    assert _created(runner, "--since", span, "--limit", "1") == ["first"]


def test_nothing_matching_says_so(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["audit", "-t", "no.such.type"])
    assert result.exit_code == 0 and result.output == "no events\n"
