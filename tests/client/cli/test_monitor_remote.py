"""``dockyard monitor schedules`` and ``ground-truth`` in-process (click's runner) over the
embedded default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.server.monitoring.conftest import baseline_folder, classifier, deploy, make_services

from dockyard.client.cli import cli


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return classifier(tmp_path_factory.mktemp("model"))


@pytest.fixture
def runner(tmp_path: Path, model: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DOCKYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCKYARD_DATA_ROOTS", str(model.parent))
    monkeypatch.delenv("DOCKYARD_URI", raising=False)
    # The endpoint is recorded in the same home (no workers start: nothing here serves it).
    services = make_services(tmp_path / "home", model.parent)
    deploy(services, model)
    services.close()
    return CliRunner()


def _ok(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(cli, ["monitor", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_schedules_from_the_command_line(runner: CliRunner, tmp_path: Path) -> None:
    folder = baseline_folder(tmp_path)
    bad = runner.invoke(
        cli,
        [
            "monitor",
            "schedules",
            "create",
            "--name",
            "d",
            "--endpoint",
            "churn",
            "--baseline",
            str(folder),
            "--schedule",
            "often",
        ],
    )
    assert bad.exit_code == 2 and "schedule" in bad.output
    made = _ok(
        runner,
        "schedules",
        "create",
        "--name",
        "churn-drift",
        "--endpoint",
        "churn",
        "--baseline",
        str(folder),
    )
    assert made.startswith("churn-drift  Scheduled\nwatches:    endpoint churn")
    assert "   next check " in made and "(window from " in made
    listed = _ok(runner, "schedules", "list").splitlines()
    assert listed[0].split()[:3] == ["NAME", "STATUS", "TARGET"] and "churn-drift" in listed[1]
    shown = json.loads(_ok(runner, "schedules", "describe", "churn-drift", "--json"))
    assert shown["next_window_end"] == shown["next_window_start"] + 3_600_000  # hourly
    assert shown["spec"]["target"] == {
        "endpoint": "churn",
        "side": "input",
        "variant": None,
        "transform_job": None,
    }
    started = json.loads(
        _ok(
            runner,
            "schedules",
            "run",
            "churn-drift",
            "--start",
            "2026-12-05T06:00",
            "--end",
            "2026-12-05T07:00",
            "--json",
        )
    )
    assert started["status"] == "Pending" and started["window_start"] == 1_796_450_400_000
    executions = json.loads(_ok(runner, "schedules", "executions", "churn-drift", "--json"))
    assert [e["execution_id"] for e in executions] == [started["execution_id"]]
    assert (
        json.loads(_ok(runner, "schedules", "executions", "churn-drift", "--violations", "--json"))
        == []
    )
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"inference_id": "r1", "label": 1}\n{"inference_id": "r2", "label": 0}\n')
    assert _ok(runner, "ground-truth", "upload", "churn-drift", str(labels)).startswith(
        "2 labels: "
    )
    bad_time = runner.invoke(
        cli, ["monitor", "schedules", "run", "churn-drift", "--start", "soon", "--end", "later"]
    )
    assert bad_time.exit_code == 2 and "start" in bad_time.output
    assert _ok(runner, "schedules", "delete", "churn-drift", "--yes") == "deleted churn-drift\n"
    gone = runner.invoke(cli, ["monitor", "schedules", "describe", "churn-drift"])
    assert gone.exit_code != 0 and "does not exist" in gone.output


def test_a_spec_file_with_local_paths_is_uploaded_first(runner: CliRunner, tmp_path: Path) -> None:
    baseline_folder(tmp_path)
    (tmp_path / "schedule.yaml").write_text(
        "name: from-file\n"
        "target: {endpoint: churn, variant: main}\n"
        "baseline: {uri: baseline}\n"  # relative to the file
        "schedule: '0 */6 * * *'\n"
        "model_quality: {problem_type: regression, thresholds: {rmse: {max: 2}}}\n"
    )
    made = json.loads(_ok(runner, "schedules", "create", str(tmp_path / "schedule.yaml"), "--json"))
    assert "/artifacts/data/monitoring/baselines/" in made["baseline_uri"]
    assert made["spec"]["schedule"] == "0 */6 * * *"
    assert made["spec"]["model_quality"]["thresholds"] == {"rmse": {"min": None, "max": 2.0}}
    (tmp_path / "bad.yaml").write_text("name: x\ntarget: {endpoint: churn}\nbaseline: {}\n")
    bad = runner.invoke(cli, ["monitor", "schedules", "create", str(tmp_path / "bad.yaml")])
    assert bad.exit_code == 2 and "baseline" in bad.output


def test_a_schedule_from_a_server_older_than_next_window_end_still_reads() -> None:
    from dockyard.api.monitoring import MonitoringSchedule
    from dockyard.client.cli._monitor_remote import _next_check

    answer = {
        "name": "s",
        "spec": {"name": "s", "target": {"endpoint": "churn"}, "baseline": {"uri": "/b"}},
        "status": "Scheduled",
        "next_window_start": 0,
        "created_by": "ana",
        "created_time": 0,
        "updated_time": 0,
    }
    old = MonitoringSchedule.model_validate(answer)
    assert old.next_window_end is None
    assert _next_check(old).startswith("next window from ")
    between = MonitoringSchedule.model_validate({**answer, "next_window_end": 3_600_000})
    assert _next_check(between).startswith("next window from ")
    new = MonitoringSchedule.model_validate(
        {**answer, "next_window_end": 3_600_000, "next_check_time": 3_660_000}
    )
    assert _next_check(new).startswith("next check 1970-01-01 01:01:00 ")


def test_the_executions_table_keeps_reports_and_failures_apart() -> None:
    from dockyard.api.monitoring import MonitoringExecution
    from dockyard.client.cli._monitor_remote import executions_text

    common = {"schedule": "s", "kind": "data_quality", "trigger": "scheduled", "created_time": 1}
    done = MonitoringExecution(
        execution_id="ok",
        window_start=0,
        window_end=1,
        status="Completed",
        report_url="/r/ok/report",
        **common,
    )
    failed = MonitoringExecution(
        execution_id="bad",
        window_start=0,
        window_end=1,
        status="Failed",
        failure_reason="Job inputs had no data",
        **common,
    )
    header, ok, bad = executions_text([done, failed]).splitlines()
    columns = header.split()
    assert columns[-2:] == ["REPORT", "FAILURE"]
    assert ok.split()[-2:] == ["/r/ok/report", "-"]
    assert bad.split()[-6:] == ["-", "Job", "inputs", "had", "no", "data"]


def test_ground_truth_problems_print_one_a_line_at_their_file_and_line(
    runner: CliRunner, tmp_path: Path
) -> None:
    folder = baseline_folder(tmp_path)
    _ok(
        runner,
        "schedules",
        "create",
        "--name",
        "m",
        "--endpoint",
        "churn",
        "--baseline",
        str(folder),
    )
    labels = tmp_path / "labels.jsonl"
    labels.write_text('{"inference_id": "a", "label": 1}\n{"inference_id": "b"}\nnot json\n')
    done = runner.invoke(cli, ["monitor", "ground-truth", "upload", "m", str(labels)])
    assert done.exit_code == 2
    lines = done.output.strip().splitlines()
    assert lines[0] == "error: 2 problems in the ground truth:"
    assert lines[1] == f"  {labels}, line 2: label: field required"
    assert lines[2].startswith(f"  {labels}, line 3: not JSON")
    labels.write_text('{"inference_id": "b"}\n')
    done = runner.invoke(cli, ["monitor", "ground-truth", "upload", "m", str(labels)])
    assert done.output == f"error: {labels}, line 1: label: field required\n"


def test_a_local_baseline_that_does_not_parse_is_named_by_its_own_path(
    runner: CliRunner, tmp_path: Path
) -> None:
    folder = baseline_folder(tmp_path)
    (folder / "constraints.json").write_text('{"features": [\n')
    args = ["monitor", "schedules", "create", "--name", "m", "--endpoint", "churn"]
    done = runner.invoke(cli, [*args, "--baseline", str(folder)])
    assert done.exit_code == 2
    assert done.output == (
        f"error: {folder}/constraints.json: not JSON (line 2, column 1: Expecting value) "
        "(--baseline)\n"
    )


def test_a_local_folder_that_is_no_baseline_is_named_by_its_own_path(
    runner: CliRunner, tmp_path: Path
) -> None:
    # Not uploaded first: the error names the folder given, not its copy in the store.
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "train.csv").write_text("a,b\n1,2\n")
    args = ["monitor", "schedules", "create", "--name", "m", "--endpoint", "churn"]
    done = runner.invoke(cli, [*args, "--baseline", str(folder)])
    assert done.exit_code == 2
    assert done.output == (
        f"error: {folder} lacks statistics.json and constraints.json (a baseline folder holds "
        "statistics.json and constraints.json) (--baseline)\n"
    )
