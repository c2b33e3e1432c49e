"""What a job may touch: only the allowed roots, checked at submit and again at run time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.jobs.conftest import SCRIPTS, behaviour, wait_for
from tests.services.server_process import ServerProcess

from dockyard.errors import DockyardError, InvalidArgument, PermissionDenied
from dockyard.sdk import Client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared-data")


@pytest.fixture(scope="module")
def job_server(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[ServerProcess]:
    """A server whose data roots are narrow: the test scripts and one shared folder."""
    home = tmp_path_factory.mktemp("confined") / "home"
    server = ServerProcess(home, env={"DOCKYARD_DATA_ROOTS": f"{SCRIPTS},{data_dir}"})
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
