"""``dockyard server`` refuses a configuration that cannot work in one line, before serving."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.services.s3 import S3Server

from dockyard import serve
from dockyard.client.cli import cli


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCKYARD_PORT", str(_closed_port()))
    for name in ("DOCKYARD_URI", "DOCKYARD_DATABASE_URL", "DOCKYARD_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)

    def refuse(config: object) -> None:
        raise AssertionError("the server started serving over a configuration that cannot work")

    # Every configuration here must be refused before serving; one that is not ends the test.
    monkeypatch.setattr(serve, "run", refuse)
    return CliRunner()


def _refusal(runner: CliRunner) -> str:
    result = runner.invoke(cli, ["server"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_an_unreachable_database_is_one_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql+psycopg://dockyard:s3cret@127.0.0.1:{_closed_port()}/dockyard"
    monkeypatch.setenv("DOCKYARD_DATABASE_URL", url)
    line = _refusal(runner)
    assert "metadata database postgresql+psycopg://dockyard:***@" in line
    assert "s3cret" not in line


def test_a_database_url_that_is_not_one_is_one_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_DATABASE_URL", "db.example:5432")
    assert "DOCKYARD_DATABASE_URL) is not a URL" in _refusal(runner)


def test_pipeline_functions_that_are_not_json_are_one_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_PIPELINE_FUNCTIONS", "score=mypkg.tasks:score")
    line = _refusal(runner)
    assert "DOCKYARD_PIPELINE_FUNCTIONS: " in line and "not JSON" in line


def test_an_unreachable_s3_endpoint_is_one_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_ARTIFACT_ROOT", "s3://bucket/dockyard")
    monkeypatch.setenv("DOCKYARD_S3_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    for name, value in (("AWS_ACCESS_KEY_ID", "id"), ("AWS_SECRET_ACCESS_KEY", "secret")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    line = _refusal(runner)
    assert line.startswith("Error: artifact store s3://bucket/dockyard: S3 endpoint http://")
    assert "unreachable" in line


@pytest.mark.s3
def test_s3_credentials_the_store_refuses_are_one_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, s3_server: S3Server
) -> None:
    bucket = s3_server.create_bucket("start")
    monkeypatch.setenv("DOCKYARD_ARTIFACT_ROOT", f"s3://{bucket}/dockyard")
    monkeypatch.setenv("DOCKYARD_S3_ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    line = _refusal(runner)
    assert line.startswith(f"Error: artifact store s3://{bucket}/dockyard: S3 refused")
    assert "SignatureDoesNotMatch" in line


def test_an_s3_endpoint_that_is_not_a_url_is_named(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_ARTIFACT_ROOT", "s3://bucket/dockyard")
    monkeypatch.setenv("DOCKYARD_S3_ENDPOINT_URL", "minio:9000")
    assert "DOCKYARD_S3_ENDPOINT_URL: " in _refusal(runner)


def test_a_port_another_program_holds_is_one_line_before_it_says_it_serves(
    runner: CliRunner,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(cli, ["server", "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert "Dockyard serving" not in result.output
    assert result.output.strip().splitlines()[-1] == (
        f"Error: cannot serve on 127.0.0.1:{port} (Address already in use): is another server "
        "there? Give --port (DOCKYARD_PORT) a free one"
    )


def test_a_local_key_file_that_cannot_be_read_is_one_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKYARD_LOCAL_KEY_FILE", str(tmp_path / "gone"))
    line = _refusal(runner)
    assert line.startswith("Error: DOCKYARD_LOCAL_KEY_FILE ")
    assert line.endswith("gone' cannot be read: No such file or directory")
