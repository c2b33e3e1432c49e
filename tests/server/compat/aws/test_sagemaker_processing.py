"""CreateProcessingJob (the analyzer's baseline job) names its dataset and output as a job's
channel and output are named: what its caller may read, and written only where specs write."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.api.tracking import CreateExperiment, CreateRun
from dockyard.errors import DockyardError
from dockyard.server._services import Services
from dockyard.server.actor import Actor, Role
from dockyard.server.auth import CreateUser
from dockyard.server.compat.aws._sagemaker import ACTIONS
from dockyard.settings import Settings

ROOT = Actor.local("root")
ANALYZER = "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"


@pytest.fixture
def team(tmp_path: Path) -> Iterator[tuple[Services, Actor, Actor]]:
    """A server where experiments are private to their owners: carol's and bob's accounts."""
    services = Services.from_settings(
        Settings(home=tmp_path / "home", uri=None, default_permission="none")
    )
    services.auth.create_user(ROOT, CreateUser(name="admin", role=Role.ADMIN))
    for name in ("carol", "bob"):
        services.auth.create_user(ROOT, CreateUser(name=name, password=f"{name}-password-1"))
    carol = services.auth.by_password("carol", "carol-password-1", "test")
    bob = services.auth.by_password("bob", "bob-password-1", "test")
    yield services, carol, bob
    services.close()


def _request(dataset: str, output: str) -> dict[str, Any]:
    return {
        "ProcessingJobName": "baseline",
        "AppSpecification": {"ImageUri": ANALYZER},
        "Environment": {"dataset_format": '{"csv": {"header": true}}'},
        "ProcessingInputs": [
            {"InputName": "baseline_dataset_input", "S3Input": {"S3Uri": dataset}}
        ],
        "ProcessingOutputConfig": {"Outputs": [{"S3Output": {"S3Uri": output}}]},
        "RoleArn": "arn:aws:iam::111122223333:role/x",
    }


def test_a_processing_job_reads_and_writes_only_where_its_caller_may(
    team: tuple[Services, Actor, Actor], tmp_path: Path
) -> None:
    services, carol, bob = team
    experiment = services.tracking.create_experiment(carol, CreateExperiment(name="private"))
    run = services.tracking.create_run(carol, CreateRun(experiment_id=experiment.experiment_id))
    services.artifacts.put_bytes(f"{run.info.artifact_uri}/people.csv", b"ssn\n123-45-6789\n")
    store = tmp_path / "home" / "artifacts"
    theirs = store / run.info.artifact_uri
    bobs = str(store / "checkpoints" / "bob" / "baseline")
    with pytest.raises(DockyardError) as refused:  # carol's data, summarised for bob
        ACTIONS["CreateProcessingJob"](services, bob, _request(f"{theirs}/people.csv", bobs))
    assert "ProcessingInputs" in refused.value.message
    services.artifacts.put_bytes("data/users/bob/mine.csv", b"a\n1\n")
    mine = str(store / "data" / "users" / "bob" / "mine.csv")
    with pytest.raises(DockyardError) as refused:  # written into carol's run
        ACTIONS["CreateProcessingJob"](services, bob, _request(mine, str(theirs)))
    assert "ProcessingOutputConfig" in refused.value.message
    assert services.jobs.list(ROOT) == []
    ACTIONS["CreateProcessingJob"](services, bob, _request(mine, bobs))
    assert [job.name for job in services.jobs.list(ROOT)] == ["baseline"]
