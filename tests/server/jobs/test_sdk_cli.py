"""Jobs through the SDK's Estimator and the CLI, against a real server."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from tests.server.jobs.conftest import SCRIPTS
from tests.services.server_process import ServerProcess

import dockyard as dy
from dockyard.client.cli import cli
from dockyard.client.sdk import reset_context
from dockyard.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def sdk(job_server: ServerProcess, tmp_path: Path) -> Iterator[None]:
    reset_context(Settings(home=tmp_path / "client", uri=job_server.url))
    yield
    reset_context(Settings(home=tmp_path / "client"))


def test_estimator_fit_follows_logs_and_exposes_the_model(
    sdk: None, train_dir: Path, job_server: ServerProcess
) -> None:
    estimator = dy.Estimator(
        entry_point="sagemaker_ridge.py",
        source_dir=SCRIPTS,
        hyperparameters={"alpha": 0.1, "epochs": 2},
        metric_definitions=[{"Name": "train:rmse", "Regex": r"train_rmse=([0-9.]+);"}],
        resources={"cpus": 1},
    )
    out = io.StringIO()
    job = estimator.fit({"train": str(train_dir)}, wait=False)
    described = job.wait(logs=True, out=out)
    assert described.status == "Completed"
    assert "epoch=1; train_rmse=" in out.getvalue()
    assert "Training" in out.getvalue()
    assert estimator.model_uri == f"runs:/{described.run_id}/model"
    assert estimator.latest_job is job
    # The local code and data were uploaded: the spec names the store, not the client's disk.
    uploads = job_server.home / "artifacts" / "data" / "jobs"
    assert Path(described.spec["source_dir"]).is_relative_to(uploads / "source")
    assert Path(described.spec["inputs"]["train"]["uri"]).is_relative_to(uploads / "inputs")


def test_uploads_are_skipped_when_the_store_holds_the_content(
    sdk: None, job_server: ServerProcess, tmp_path: Path
) -> None:
    folder = tmp_path / "dataset"
    (folder / "part").mkdir(parents=True)
    (folder / "a.csv").write_text("1,2\n")
    (folder / "part" / "b.csv").write_text("3,4\n")
    uri = dy.upload_data(folder, key_prefix="skip")
    stored = Path(uri) / "a.csv"
    assert stored.read_text() == "1,2\n" and (Path(uri) / "part" / "b.csv").is_file()
    written = stored.stat().st_mtime_ns
    copy = tmp_path / "same-content"
    copy.mkdir()
    (copy / "part").mkdir()
    (copy / "a.csv").write_text("1,2\n")
    (copy / "part" / "b.csv").write_text("3,4\n")
    assert dy.upload_data(copy, key_prefix="skip") == uri  # same content: same URI
    assert stored.stat().st_mtime_ns == written  # and nothing was written again
    (copy / "a.csv").write_text("1,3\n")  # same size, other content: a new upload
    changed = dy.upload_data(copy, key_prefix="skip")
    assert changed != uri and (Path(changed) / "a.csv").read_text() == "1,3\n"
    assert stored.read_text() == "1,2\n"  # what a queued job would read is untouched
    single = dy.upload_data(folder / "a.csv", key_prefix="skip")
    assert Path(single).name == "a.csv" and Path(single).read_text() == "1,2\n"
    with pytest.raises(dy.InvalidArgument, match="does not exist"):
        dy.upload_data(tmp_path / "missing")


def test_failed_job_raises_with_the_reason(sdk: None) -> None:
    estimator = dy.Estimator("behaviours.py", SCRIPTS, hyperparameters={"mode": "failure-file"})
    with pytest.raises(dy.JobFailed, match="expected 4"):
        estimator.fit(logs=False)


class _CtrlC(io.StringIO):
    """The user presses Ctrl-C as the job's log starts to print."""

    def write(self, text: str) -> int:
        if "mode=sleep started" in text:
            raise KeyboardInterrupt
        return super().write(text)


def test_ctrl_c_while_waiting_says_the_job_goes_on_and_how_to_stop_it(sdk: None) -> None:
    estimator = dy.Estimator(
        "behaviours.py", SCRIPTS, hyperparameters={"mode": "sleep", "seconds": 60}
    )
    job = estimator.fit(wait=False)
    out = _CtrlC()
    with pytest.raises(KeyboardInterrupt):
        job.wait(out=out)
    said = out.getvalue()
    assert f"[{job.name}] no longer followed, still on the server" in said
    assert f"dockyard jobs logs --follow {job.name}; dockyard jobs stop {job.name})" in said
    assert not job.describe().status.is_terminal
    job.stop()
    with pytest.raises(dy.JobFailed, match="stopped"):
        estimator.latest_job.wait(logs=False)  # type: ignore[union-attr]


def test_a_finished_jobs_log_comes_before_its_uploading_and_completed_steps(sdk: None) -> None:
    job = dy.Estimator("behaviours.py", SCRIPTS).fit(wait=False)
    while not job.describe(wait=30).status.is_terminal:
        pass
    out = io.StringIO()
    job.wait(out=out)  # one answer: the job has ended, with every step and the whole log
    said = out.getvalue()
    order = [f"[{job.name}] Training", "mode=ok started", f"[{job.name}] Uploading"]
    assert [said.index(line) for line in order] == sorted(said.index(line) for line in order)
    assert said.splitlines()[-1].startswith(f"[{job.name}] Completed")


def test_an_estimator_names_its_executor(sdk: None) -> None:
    estimator = dy.Estimator("behaviours.py", SCRIPTS, executor="ray")
    with pytest.raises(dy.InvalidArgument, match="it runs local") as caught:
        estimator.fit(logs=False)
    assert caught.value.field == "executor"


def test_upload_data_gives_a_uri_jobs_can_read(sdk: None, train_dir: Path) -> None:
    uri = dy.upload_data(train_dir, key_prefix="datasets/synthetic")
    estimator = dy.Estimator("sagemaker_ridge.py", SCRIPTS, hyperparameters={"epochs": 1})
    job = estimator.fit({"train": uri}, logs=False)
    assert job.describe().status == "Completed"


def test_cli_submit_list_describe_logs(
    job_server: ServerProcess, train_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKYARD_URI", job_server.url)
    reset_context()
    spec_file = tmp_path / "job.yaml"
    (tmp_path / "code").symlink_to(SCRIPTS)
    spec_file.write_text(
        yaml.safe_dump(
            {
                "name": "cli-ridge",
                "entry_point": "sagemaker_ridge.py",
                "source_dir": "code",  # relative to the spec file
                "hyperparameters": {"epochs": 1},
                "inputs": {"train": str(train_dir)},
                "executor": "local",
            }
        )
    )
    runner = CliRunner()
    submitted = runner.invoke(cli, ["jobs", "submit", str(spec_file), "--wait"])
    assert submitted.exit_code == 0, submitted.output
    assert "Completed" in submitted.output and "epoch=0" in submitted.output
    listed = json.loads(runner.invoke(cli, ["jobs", "list", "--json"]).output)
    assert "cli-ridge" in [j["name"] for j in listed]
    described = runner.invoke(cli, ["jobs", "describe", "cli-ridge"]).output
    assert "Completed" in described and "runs:/" in described
    assert "executor: local" in described
    logs = runner.invoke(cli, ["jobs", "logs", "cli-ridge"]).output
    assert "epoch=0; train_rmse=" in logs
    stopped = runner.invoke(cli, ["jobs", "stop", "cli-ridge"])  # ended: nothing changes
    assert stopped.exit_code == 0, stopped.output
    assert stopped.output.strip() == "job cli-ridge had ended (Completed): nothing to stop"
    again = runner.invoke(cli, ["jobs", "submit", str(spec_file)])  # the name is taken
    assert again.exit_code != 0 and "a job named 'cli-ridge' exists" in again.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    result = runner.invoke(cli, ["jobs", "submit", str(bad)])
    assert result.exit_code == 2 and "line 1" in result.output
    reset_context(Settings(home=tmp_path / "client"))
