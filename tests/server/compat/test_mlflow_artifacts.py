"""MLflow's artifact calls (log, list, download, delete) through Dockyard's proxied artifact API."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from tests.services.live_server import LiveServer


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_log_list_and_download_artifacts(
    tracking_uri: str, experiment_name: str, tmp_path: Path, live_server: LiveServer
) -> None:
    source = tmp_path / "source"
    (source / "sub" / "deeper").mkdir(parents=True)
    (source / "a.txt").write_text("alpha")
    (source / "sub" / "b.bin").write_bytes(bytes(range(256)) * 64)
    (source / "sub" / "deeper" / "c.json").write_text('{"c": 1}')
    single = tmp_path / "notes.md"
    single.write_text("# notes\n")

    mlflow.set_experiment(experiment_name)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifact(str(single), artifact_path="docs")
        mlflow.log_artifacts(str(source), artifact_path="data")
    run_id = run.info.run_id
    client = MlflowClient()

    root = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in root] == [
        ("data", True),
        ("docs", True),
        ("notes.md", False),
    ]
    assert root[2].file_size == len("# notes\n")
    data = client.list_artifacts(run_id, "data/sub")
    assert [(f.path, f.is_dir, f.file_size) for f in data] == [
        ("data/sub/b.bin", False, 256 * 64),
        ("data/sub/deeper", True, None),
    ]

    folder = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="data", dst_path=str(tmp_path / "out")
    )
    assert _tree(Path(folder)) == _tree(source)
    file = client.download_artifacts(run_id, "docs/notes.md", str(tmp_path / "one"))
    assert Path(file).read_text() == "# notes\n"

    # The bytes sit in the server's artifact store under the run's key.
    stored = (
        live_server.home / "artifacts" / run.info.experiment_id / run_id / "artifacts" / "notes.md"
    )
    assert stored.read_text() == "# notes\n"


def test_artifacts_of_a_run_can_be_deleted(
    tracking_uri: str, experiment_name: str, tmp_path: Path
) -> None:
    file = tmp_path / "x.txt"
    file.write_text("x")
    mlflow.set_experiment(experiment_name)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(file), artifact_path="keep")
        mlflow.log_artifact(str(file), artifact_path="drop")
    repo = mlflow.store.artifact.artifact_repository_registry.get_artifact_repository(
        run.info.artifact_uri
    )
    repo.delete_artifacts("drop")
    assert [f.path for f in MlflowClient().list_artifacts(run.info.run_id)] == ["keep"]


def test_artifact_upload_to_a_deleted_run_is_refused(
    tracking_uri: str, experiment_name: str, tmp_path: Path
) -> None:
    file = tmp_path / "late.txt"
    file.write_text("late")
    client = MlflowClient()
    run = client.create_run(client.create_experiment(experiment_name))
    client.delete_run(run.info.run_id)
    # MLflow's artifact repository raises the HTTP error itself, with the server's message.
    with pytest.raises(requests.HTTPError, match=r"INVALID_PARAMETER_VALUE.*deleted"):
        client.log_artifact(run.info.run_id, str(file))
    assert client.list_artifacts(run.info.run_id) == []


def test_downloading_a_missing_artifact_fails(
    tracking_uri: str, experiment_name: str, tmp_path: Path
) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment(experiment_name))
    with pytest.raises(
        MlflowException, match=r"Failed to download artifacts from path 'nope\.txt'"
    ):
        client.download_artifacts(run.info.run_id, "nope.txt", str(tmp_path))
