"""A request with several problems: the CLI prints each on its own line (against a server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.services.server_process import ServerProcess

from dockyard.client.cli import cli
from dockyard.client.http import Client
from dockyard.client.sdk import reset_context
from dockyard.errors import InvalidArgument


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("problems") / "home")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def runner(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DOCKYARD_URI", server.url)
    reset_context()
    yield CliRunner()
    reset_context()


def test_every_problem_of_a_spec_is_printed_on_its_own_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    spec = tmp_path / "transform.yaml"
    spec.write_text(
        "input: {uri: 's3://bucket/in.csv', content_type: text/xml, split_type: Lines}\n"
        "max_payload_mb: -1\n"
        "surprise: 1\n"
    )
    result = runner.invoke(cli, ["transform", "submit", str(spec)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "error: 5 problems:", lines
    assert lines[1:] == [
        "  model_uri: field required",
        "  input.content_type: Input should be 'text/csv', 'application/jsonlines' or "
        "'application/x-parquet'",
        "  input.split_type: Input should be 'Line' or 'None'",
        "  max_payload_mb: Input should be greater than or equal to 0",
        "  surprise: unknown field",
    ]
    assert "more problem" not in result.output and "Traceback" not in result.output


def test_the_api_message_lists_every_problem_too(
    runner: CliRunner, server: ServerProcess, tmp_path: Path
) -> None:
    spec = tmp_path / "job.yaml"
    spec.write_text("algorithm: boosting\nresources: {cpus: -1}\n")
    result = runner.invoke(cli, ["jobs", "submit", str(spec), "--json"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == [
        "  algorithm: Input should be 'xgboost' or 'linear-learner'",
        "  resources.cpus: Input should be greater than 0",
    ]
    with Client(server.url, retry_for=0) as client, pytest.raises(InvalidArgument) as caught:
        client.request("POST", "/api/v1/jobs/training", json={"algorithm": "boosting", "x": 1})
    assert caught.value.message == (
        "2 problems: algorithm: Input should be 'xgboost' or 'linear-learner'; x: unknown field"
    )
    assert caught.value.field == "algorithm"
    assert [p["field"] for p in caught.value.details["problems"]] == ["algorithm", "x"]


def test_one_problem_stays_one_line_naming_the_field(runner: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "transform.yaml"
    spec.write_text(
        "model_uri: 'models:/m/1'\n"
        "input: {uri: 's3://bucket/in.csv', content_type: application/x-parquet, "
        "compression: Gzip}\n"
    )
    result = runner.invoke(cli, ["transform", "submit", str(spec)])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: input.compression: Parquet files compress their own pages; compression must be None"
    ]
