"""A server killed while trials run, then started again: no trial is repeated or lost."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.server.notifications._receiver import until
from tests.server.tuning.conftest import ended, server_env, trial_job, trials
from tests.server.tuning.test_controller import config
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client

pytestmark = pytest.mark.slow


def test_a_restart_neither_repeats_nor_loses_a_trial(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    gate = tmp_path / "gate"
    gate.mkdir()
    server = ServerProcess(tmp_path / "home", env=server_env(tmp_path_factory))
    server.start()
    client = Client(server.url, retry_for=30)
    try:
        client.request(
            "POST",
            "/api/v1/tuning-jobs",
            json={
                "HyperParameterTuningJobName": "restarted",
                "HyperParameterTuningJobConfig": config(
                    ResourceLimits={"MaxNumberOfTrainingJobs": 5, "MaxParallelTrainingJobs": 2}
                ),
                "TrainingJobDefinition": trial_job(gate=str(gate)),
            },
        )
        until(lambda: len(list(gate.glob("started-*"))) == 2, 60, "two trials starting")
        before = trials(client, "restarted")
        server.kill()  # a crash while two trials run
        server.start()
        (gate / "open").touch()
        job = ended(client, "restarted")
        assert job["status"] == "Completed", job
        after = trials(client, "restarted")
        assert [t["number"] for t in after] == [0, 1, 2, 3, 4]
        assert all(t["status"] == "Completed" for t in after)
        # The trials running at the crash kept their hyperparameters, whatever became of
        # their jobs (reattached, or failed by the restart and run once more).
        for old in before:
            assert after[old["number"]]["hyperparameters"] == old["hyperparameters"]
        # Every job the tuning job submitted belongs to one trial's attempts.
        listed = client.request("GET", "/api/v1/jobs", params={"max_results": 100})["jobs"]
        mine = sorted(j["name"] for j in listed if j["name"].startswith("restarted-"))
        assert len(mine) == sum(t["attempts"] for t in after)
        assert {t["job"] for t in after} <= set(mine)
        started = sorted(p.name.removeprefix("started-") for p in gate.glob("started-*"))
        assert started == mine
    finally:
        client.close()
        server.stop()
