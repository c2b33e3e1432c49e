"""The upload cap (``DOCKYARD_MAX_UPLOAD_MB``) on every streamed upload route of a real server:
declared or counted, over the limit is 413 naming it, and nothing reaches the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import pytest
import requests
from mlflow import MlflowClient
from tests.services.server_process import ServerProcess

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("upload-limit") / "home", env={"DOCKYARD_MAX_UPLOAD_MB": "1"}
    )
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def _run(http: httpx.Client) -> str:
    response = http.post("/api/v1/runs", json={})
    assert response.status_code == 201, response.text
    return str(response.json()["info"]["run_id"])


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    """A body with no Content-Length (sent chunked): only counting can catch it."""
    while total > 0:
        yield b"\0" * min(size, total)
        total -= size


def _assert_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "1 MiB upload limit (DOCKYARD_MAX_UPLOAD_MB)" in error["message"]
    assert error["details"] == {"limit_bytes": MIB}


def test_an_artifact_at_the_limit_is_stored_and_one_byte_more_is_refused(
    http: httpx.Client,
) -> None:
    run_id = _run(http)
    base = f"/api/v1/runs/{run_id}/artifacts"
    assert http.put(f"{base}/exact.bin", content=b"\0" * MIB).status_code == 200
    declared = http.put(f"{base}/over.bin", content=b"\0" * (MIB + 1))
    _assert_too_large(declared)
    assert "declares 1048577 bytes" in declared.json()["error"]["message"]
    counted = http.put(f"{base}/chunked.bin", content=_chunks(3 * MIB))
    _assert_too_large(counted)
    files = http.get(base).json()["files"]
    assert [(f["path"], f["file_size"]) for f in files] == [("exact.bin", MIB)]
    # The refusal left the connection usable: the client read its answer and goes on.
    assert http.get("/healthz").status_code == 200


def test_data_uploads_are_capped_too(http: httpx.Client, server: ServerProcess) -> None:
    _assert_too_large(http.put("/api/v1/data/cap/over.csv", content=b"1\n" * MIB))
    _assert_too_large(http.put("/api/v1/data/cap/chunked.csv", content=_chunks(2 * MIB)))
    assert not (server.home / "artifacts" / "data" / "cap").exists()
    assert http.put("/api/v1/data/cap/small.csv", content=b"1\n").status_code == 200


def test_mlflow_uploads_answer_in_mlflows_error_shape(
    server: ServerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    client = MlflowClient(tracking_uri=server.url)
    experiment_id = client.create_experiment(f"upload-limit-{tmp_path.name}")
    run = client.create_run(experiment_id)
    key = f"{experiment_id}/{run.info.run_id}/artifacts/big.bin"
    raw = httpx.put(
        f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{key}",
        content=b"\0" * (2 * MIB),
        timeout=30,
    )
    assert raw.status_code == 400  # MLflow has no 413: its own size limits answer this
    assert raw.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "1 MiB upload limit" in raw.json()["message"]

    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (2 * MIB))
    mlflow.set_tracking_uri(server.url)
    try:
        # The client raises what it raises for any refused upload, with the server's message.
        with pytest.raises(requests.HTTPError, match="1 MiB upload limit"):
            client.log_artifact(run.info.run_id, str(big))
    finally:
        mlflow.set_tracking_uri(None)
    assert client.list_artifacts(run.info.run_id) == []
