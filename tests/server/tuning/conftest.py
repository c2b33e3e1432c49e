"""A real server (scheduler, local executor, tuning loop), the trial script, and in-process
services with accounts (no scheduler: trials' jobs stay queued)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.server.notifications._receiver import until
from tests.services.server_process import ServerProcess

from dockyard.api.tuning import TuningJobSpec
from dockyard.client.http import Client
from dockyard.server._services import Services
from dockyard.server.actor import Actor, ActorKind, Role
from dockyard.server.auth import CreateUser
from dockyard.server.store import schema
from dockyard.settings import Settings

SCRIPTS = Path(__file__).parent / "scripts"


def server_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str | None]:
    return {
        "DOCKYARD_JOB_STOP_GRACE_S": "5",
        "DOCKYARD_EXECUTOR_CPUS": "4",
        "DOCKYARD_DATA_ROOTS": f"{SCRIPTS},{tmp_path_factory.getbasetemp()}",
    }


@pytest.fixture(scope="module")
def tuning_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path_factory.mktemp("tuning") / "home", env=server_env(tmp_path_factory)
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(tuning_server: ServerProcess) -> Iterator[Client]:
    made = Client(tuning_server.url, retry_for=30)
    yield made
    made.close()


def trial_job(**hyperparameters: Any) -> dict[str, Any]:
    """The training job each trial runs: the trial script with these static hyperparameters."""
    return {
        "entry_point": "trial.py",
        "source_dir": str(SCRIPTS),
        "hyperparameters": hyperparameters,
        "resources": {"cpus": 0.5},
        "metric_definitions": [{"name": "loss", "regex": r"loss=([0-9.]+)"}],
    }


def ended(client: Client, name: str, timeout: float = 120) -> dict[str, Any]:
    """The tuning job once it has ended."""

    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = client.request("GET", f"/api/v1/tuning-jobs/{name}")
        return job if job["status"] in ("Completed", "Failed", "Stopped") else None

    found: dict[str, Any] = until(done, timeout, f"tuning job {name} ending")
    return found


def trials(client: Client, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.request("GET", f"/api/v1/tuning-jobs/{name}/trials")[
        "trials"
    ]
    return found


def events(client: Client, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.request(
        "GET", "/api/v1/events", params={"resource_type": "tuning", "resource_id": name}
    )["events"]
    return found


ROOT = Actor.local("root")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    made = Services.from_settings(Settings(home=tmp_path / "home", data_roots=[str(SCRIPTS)]))
    made.auth.create_user(ROOT, CreateUser(name="root", role=Role.ADMIN))
    yield made
    made.close()


def account(services: Services, name: str, role: Role = Role.MEMBER) -> Actor:
    services.auth.create_user(ROOT, CreateUser(name=name, role=role))
    with services.db.read() as conn:
        user = conn.execute(select(schema.users).where(schema.users.c.name == name)).one()
    return Actor(ActorKind.USER, name, role, user_id=int(user.user_id))


def spec(name: str = "t", **training: Any) -> TuningJobSpec:
    return TuningJobSpec.model_validate(
        {
            "name": name,
            "config": {
                "strategy": "Random",
                "objective": {"type": "Minimize", "metric_name": "loss"},
                "resource_limits": {"max_jobs": 2},
                "parameter_ranges": {"continuous": [{"name": "x", "min_value": 0, "max_value": 1}]},
            },
            "training_job": {"entry_point": "trial.py", "source_dir": str(SCRIPTS), **training},
        }
    )
