"""What a job may touch: only the allowed roots, checked at submit and again at run time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.server.jobs.conftest import SCRIPTS, behaviour, wait_for
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client
from dockyard.errors import DockyardError, InvalidArgument, PermissionDenied

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared-data")


@pytest.fixture(scope="module")
def job_server(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[ServerProcess]:
    """A server whose data roots are narrow: the test scripts and one shared folder."""
    home = tmp_path_factory.mktemp("confined") / "home"
    env = {
        "DOCKYARD_DATA_ROOTS": f"{SCRIPTS},{data_dir}",
        # What the server holds that a job must not see, and what the operator passes on.
        "AWS_SECRET_ACCESS_KEY": "server-secret",
        "AWS_ACCESS_KEY_ID": "server-key",
        "SERVER_ONLY_SECRET": "hush",
        "PASSED_ON": "yes",
        "DOCKYARD_JOB_ENV": "PASSED_ON,SET_HERE=42,NOT_SET_ANYWHERE",
    }
    server = ServerProcess(home, env=env)
    server.start()
    yield server
    server.stop()


def _refused(client: Client, path: str, body: dict) -> DockyardError:  # type: ignore[type-arg]
    with pytest.raises(DockyardError) as caught:
        client.request("POST", path, json=body)
    return caught.value


def _training(client: Client, **change: object) -> DockyardError:
    return _refused(client, "/api/v1/jobs/training", {**behaviour("confined", "ok"), **change})


def test_training_specs_name_only_allowed_roots(client: Client, job_server: ServerProcess) -> None:
    error = _training(client, source_dir="/etc")
    assert isinstance(error, PermissionDenied) and error.field == "source_dir"
    assert "outside the allowed roots" in error.message
    # The same answer whether the path exists or not: no oracle for the server's disk.
    present = _training(client, inputs={"train": "/etc/hostname"})
    absent = _training(client, inputs={"train": "/etc/no-such-file-here"})
    assert isinstance(present, PermissionDenied) and present.field == "inputs.train.uri"
    assert present.message.replace("hostname", "X") == absent.message.replace(
        "no-such-file-here", "X"
    )
    climbing = _training(client, source_dir=f"{SCRIPTS}/../../../../../../etc")
    assert isinstance(climbing, PermissionDenied)
    for relative in ("~/.ssh/id_rsa", "~nouser/x", "scripts", "./data"):
        error = _training(client, inputs={"train": relative})
        assert isinstance(error, InvalidArgument), error
        assert error.field == "inputs.train.uri" and "must be absolute" in error.message
    error = _training(client, checkpoint={"uri": "ckpt"})
    assert isinstance(error, InvalidArgument) and error.field == "checkpoint.uri"
    error = _training(client, checkpoint={"uri": "/var/tmp/ckpt"})
    assert isinstance(error, PermissionDenied) and error.field == "checkpoint.uri"
    # Inside the store, a checkpoint may only go to its checkpoints/ area.
    store = job_server.home / "artifacts"
    error = _training(client, checkpoint={"uri": str(store / "0" / "some-run" / "artifacts")})
    assert isinstance(error, PermissionDenied) and "areas a spec may write" in error.message
    error = _training(client, inputs={"train": "s3://someone-elses-bucket/data"})
    assert isinstance(error, PermissionDenied) and error.field == "inputs.train.uri"


def test_transform_specs_name_only_allowed_roots(client: Client, data_dir: Path) -> None:
    (data_dir / "in.csv").write_text("1,2\n")
    base = {"model_uri": str(data_dir), "input": {"uri": str(data_dir / "in.csv")}}
    cases = [
        ({**base, "model_uri": "/etc"}, "model_uri", PermissionDenied),
        ({**base, "input": {"uri": "/etc/passwd"}}, "input.uri", PermissionDenied),
        ({**base, "output": {"uri": "/etc/dockyard-out"}}, "output.uri", PermissionDenied),
        ({**base, "output": {"uri": "out"}}, "output.uri", InvalidArgument),
        ({**base, "output": {"uri": "~/out"}}, "output.uri", InvalidArgument),
        ({**base, "input": {"uri": str(data_dir.parent)}}, "input.uri", PermissionDenied),
    ]
    for body, field, kind in cases:
        error = _refused(client, "/api/v1/jobs/transform", body)
        assert isinstance(error, kind) and error.field == field, (body, error)


def test_a_link_out_of_a_data_root_is_not_followed_at_run_time(
    client: Client, data_dir: Path
) -> None:
    channel = data_dir / "channel"
    channel.mkdir()
    (channel / "a.csv").write_text("1\n")
    (channel / "leak.txt").symlink_to("/etc/hostname")  # planted inside an allowed root
    client.request(
        "POST", "/api/v1/jobs/training", json=behaviour("linked", "ok", inputs={"t": str(channel)})
    )
    job = wait_for(client, "linked")
    assert job["status"] == "Failed"
    assert "leak.txt" in job["failure_reason"]
    assert "leads outside the allowed roots" in job["failure_reason"]
    assert Path("/etc/hostname").read_text().strip() not in job["failure_reason"]


def test_a_job_writing_to_its_inputs_and_code_changes_only_its_copies(
    client: Client, data_dir: Path, job_server: ServerProcess
) -> None:
    code = data_dir / "code"
    code.mkdir()
    original = (SCRIPTS / "behaviours.py").read_text()
    (code / "behaviours.py").write_text(original)
    channel = data_dir / "train"
    (channel / "part").mkdir(parents=True)
    (channel / "a.csv").write_text("1,2\n")
    (channel / "part" / "b.csv").write_text("3,4\n")
    # One channel from a data root, the same files uploaded into the store for another job.
    uploaded = client.request("PUT", "/api/v1/data/tamper/a.csv", content=b"1,2\n")["uri"]
    for name, train in (("tamper-root", str(channel)), ("tamper-store", uploaded)):
        spec = behaviour(name, "tamper", source_dir=str(code), inputs={"train": train})
        client.request("POST", "/api/v1/jobs/training", json=spec)
        job = wait_for(client, name)
        assert job["status"] == "Completed", job["failure_reason"]
        copy = job_server.home / "jobs" / name / "code" / "behaviours.py"
        assert copy.read_text().endswith("# tampered\n")  # the job did write
    assert (code / "behaviours.py").read_text() == original
    assert (channel / "a.csv").read_text() == "1,2\n"
    assert (channel / "part" / "b.csv").read_text() == "3,4\n"
    assert Path(uploaded).read_text() == "1,2\n"


def test_the_script_gets_a_clean_environment(client: Client, job_server: ServerProcess) -> None:
    spec = behaviour("env", "env", environment={"FROM_SPEC": "1"})
    client.request("POST", "/api/v1/jobs/training", json=spec)
    assert wait_for(client, "env")["status"] == "Completed"
    log = client._http.get("/api/v1/jobs/env/logs").text
    env = json.loads(next(line for line in log.splitlines() if line.startswith("ENV="))[4:])
    assert not [k for k in env if k.startswith("AWS_")]
    assert "SERVER_ONLY_SECRET" not in env and "NOT_SET_ANYWHERE" not in env
    contract = ("DOCKYARD_URI", "DOCKYARD_RUN_ID", "DOCKYARD_TOKEN")  # the job's own token
    assert not [k for k in env if k.startswith("DOCKYARD_") and k not in contract]
    assert env["PASSED_ON"] == "yes" and env["SET_HERE"] == "42" and env["FROM_SPEC"] == "1"
    folder = job_server.home / "jobs" / "env"
    assert env["HOME"] == str(folder / "home") and env["TMPDIR"] == str(folder / "tmp")
    assert env["SM_MODEL_DIR"] == str(folder / "model") and env["DOCKYARD_RUN_ID"]
    # The mlflow client finds the same server and run (as an MLflow project run sets them).
    assert env["MLFLOW_TRACKING_URI"] == env["DOCKYARD_URI"] == job_server.url
    assert env["MLFLOW_RUN_ID"] == env["DOCKYARD_RUN_ID"]
    assert not [
        k
        for k in env
        if k.startswith("MLFLOW_")
        and k not in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_TRACKING_TOKEN")
    ]
    assert env["PATH"]


def test_transform_workers_never_see_the_store_credentials(
    client: Client, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np
    import pandas as pd

    from dockyard.models import save_model
    from dockyard.runtime.batch import run_transform

    # Imported as a top-level module, the name its code_paths copy is imported by in workers.
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    from env_model import CredentialProbe  # type: ignore[import-not-found]

    model = data_dir / "probe"
    save_model(
        CredentialProbe(),
        model,
        input_example=pd.DataFrame({"a": [1.0, 2.0]}),
        code_paths=[Path(__file__).parent / "env_model.py"],
    )
    np.savetxt(data_dir / "rows.csv", np.arange(3.0).reshape(3, 1), delimiter=",")
    spec = {
        "model_uri": str(model),
        "input": {"uri": str(data_dir / "rows.csv")},
        "output": {"uri": str(data_dir / "probed")},
    }
    # The probe can tell: run directly, with a credential in its environment, it says so.
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "visible")
    run_transform(spec, tmp_path / "work", env_manager="local")
    assert (data_dir / "probed" / "rows.csv.out").read_text().split() == ["1"] * 3
    # As a job, the transform's own process holds the server's keys; its workers do not.
    client.request("POST", "/api/v1/jobs/transform", json={**spec, "name": "probe"})
    job = wait_for(client, "probe")
    assert job["status"] == "Completed", job["failure_reason"]
    assert (data_dir / "probed" / "rows.csv.out").read_text().split() == ["0"] * 3
