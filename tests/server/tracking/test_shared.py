"""The experiments the server makes for jobs named into none are everyone's: on a live server
with accounts, each member's jobs, tuning jobs and triggers' jobs go there, each run stays its
author's, and only an admin renames or deletes the experiment."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client
from dockyard.errors import InvalidArgument, PermissionDenied
from dockyard.server.jobs._kinds import MONITORING, TRAINING, TRANSFORM
from dockyard.server.monitoring._service import DEFAULT_EXPERIMENT as MONITORING_EXPERIMENT
from dockyard.server.tracking._shared import SHARED_EXPERIMENTS
from dockyard.server.tuning._service import DEFAULT_EXPERIMENT as TUNING_EXPERIMENT

PASSWORD = "correct horse battery"


@dataclass
class Team:
    server: ServerProcess
    ana: Client  # an admin
    bob: Client  # members
    carol: Client


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    server = ServerProcess(tmp_path_factory.mktemp("shared") / "home")
    server.start()
    tokens = {}
    with httpx.Client(base_url=server.url) as http:
        made = http.post(
            "/api/v1/users", json={"name": "ana", "role": "admin", "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
        admin = {"Authorization": "Basic " + base64.b64encode(f"ana:{PASSWORD}".encode()).decode()}
        for name in ("bob", "carol"):
            http.post(
                "/api/v1/users", json={"name": name, "password": PASSWORD}, headers=admin
            ).raise_for_status()
        for name in ("ana", "bob", "carol"):
            basic = base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()
            answer = http.post(
                "/api/v1/tokens", json={"name": "t"}, headers={"Authorization": f"Basic {basic}"}
            )
            answer.raise_for_status()
            tokens[name] = answer.json()["token"]
    clients = {name: Client(server.url, token=token, retry_for=0) for name, token in tokens.items()}
    try:
        yield Team(server, clients["ana"], clients["bob"], clients["carol"])
    finally:
        for client in clients.values():
            client.close()
        server.stop()


def _code(client: Client, who: str) -> str:
    made = client.request("PUT", f"/api/v1/data/{who}/train.py", content=b"print('trained')\n")
    return str(made["prefix_uri"])


def _training(client: Client, who: str) -> dict[str, Any]:
    """A training job naming no experiment."""
    job: dict[str, Any] = client.request(
        "POST",
        "/api/v1/jobs/training",
        json={"entry_point": "train.py", "source_dir": _code(client, who), "name": f"{who}-job"},
    )
    return job


def test_every_default_experiment_is_shared() -> None:
    defaults = {k.default_experiment for k in (TRAINING, TRANSFORM, MONITORING)}
    assert defaults | {TUNING_EXPERIMENT, MONITORING_EXPERIMENT} <= SHARED_EXPERIMENTS


def test_two_members_submit_jobs_into_the_default_experiment(team: Team) -> None:
    first = _training(team.bob, "bob")  # makes training-jobs
    second = _training(team.carol, "carol")  # was refused: bob alone could edit it
    assert first["experiment_id"] == second["experiment_id"]
    experiment = team.carol.request("GET", f"/api/v1/experiments/{first['experiment_id']}")
    assert experiment["name"] == "training-jobs"
    # each sees their own run, made as them
    for client, job, who in ((team.bob, first, "bob"), (team.carol, second, "carol")):
        run = client.request("GET", f"/api/v1/runs/{job['run_id']}")
        assert run["info"]["user_id"] == who
    # and a run stays its author's: carol may not change bob's
    with pytest.raises(PermissionDenied, match="belongs to bob"):
        team.carol.request(
            "POST",
            f"/api/v1/runs/{first['run_id']}/batch",
            json={"tags": [{"key": "k", "value": "v"}]},
        )
    # Made for everyone, not owned by bob, and recorded so.
    grants = team.ana.request(
        "GET", "/api/v1/grants", params={"kind": "experiment", "resource": first["experiment_id"]}
    )
    assert [(g["user"], g["level"]) for g in grants["grants"]] == [("*", "edit")]
    created = team.ana.request(
        "GET",
        "/api/v1/events",
        params={"resource_type": "experiment", "resource_id": first["experiment_id"]},
    )["events"]
    assert [(e["type"], e["actor"], e["body"]) for e in created] == [
        ("experiment.created", "bob", {"name": "training-jobs", "shared": True})
    ]


def test_only_an_admin_renames_or_deletes_a_shared_experiment(team: Team) -> None:
    job = _training(team.bob, "bob-again")
    eid = job["experiment_id"]
    for client in (team.bob, team.carol):
        with pytest.raises(PermissionDenied, match="manage permission"):
            client.request("PATCH", f"/api/v1/experiments/{eid}", json={"name": "mine"})
        with pytest.raises(PermissionDenied, match="manage permission"):
            client.request("DELETE", f"/api/v1/experiments/{eid}")
    # Nor is experiment 0, which everyone edits too, renamed by a member.
    with pytest.raises(PermissionDenied, match="manage permission"):
        team.bob.request("PATCH", "/api/v1/experiments/0", json={"name": "bobs"})
    # A member's own experiment is renamed as before, but not to a shared experiment's name,
    # which would make it theirs before the server needs it.
    own = team.carol.request("POST", "/api/v1/experiments", json={"name": "carols"})
    with pytest.raises(InvalidArgument, match="'tuning-jobs' is kept") as refused:
        team.carol.request(
            "PATCH", f"/api/v1/experiments/{own['experiment_id']}", json={"name": "tuning-jobs"}
        )
    assert refused.value.field == "name"
    renamed = team.carol.request(
        "PATCH", f"/api/v1/experiments/{own['experiment_id']}", json={"name": "carols-2"}
    )
    assert renamed["name"] == "carols-2"
    # An admin still renames the shared one.
    assert team.ana.request("PATCH", f"/api/v1/experiments/{eid}", json={"name": "old-jobs"})


def test_a_member_making_a_shared_name_makes_it_for_everyone(team: Team) -> None:
    made = team.bob.request("POST", "/api/v1/experiments", json={"name": "monitoring"})
    with pytest.raises(PermissionDenied):
        team.bob.request("DELETE", f"/api/v1/experiments/{made['experiment_id']}")
    run = team.carol.request("POST", "/api/v1/runs", json={"experiment_id": made["experiment_id"]})
    assert run["info"]["user_id"] == "carol"


def test_two_members_create_tuning_jobs_into_the_default_experiment(team: Team) -> None:
    found = []
    for client, who in ((team.bob, "bob"), (team.carol, "carol")):
        made = client.request(
            "POST",
            "/api/v1/tuning-jobs",
            json={
                "name": f"{who}-tuning",
                "config": {
                    "strategy": "Random",
                    "objective": {"type": "Minimize", "metric_name": "loss"},
                    "resource_limits": {"max_jobs": 1},
                    "parameter_ranges": {
                        "continuous": [{"name": "x", "min_value": 0, "max_value": 1}]
                    },
                },
                "training_job": {
                    "entry_point": "train.py",
                    "source_dir": _code(client, f"{who}-tuning"),
                },
            },
        )
        found.append(made["experiment_id"])
        client.request("POST", f"/api/v1/tuning-jobs/{who}-tuning/stop")  # its own
    assert found[0] == found[1]
    experiment = team.ana.request("GET", f"/api/v1/experiments/{found[0]}")
    assert experiment["name"] == "tuning-jobs"


def test_two_members_triggers_submit_jobs_into_the_default_experiment(team: Team) -> None:
    """Work a trigger starts is submitted as its creator, into the same shared experiment."""
    fired = []
    for client, who in ((team.bob, "bob"), (team.carol, "carol")):
        spec = {"entry_point": "train.py", "source_dir": _code(client, f"{who}-trigger")}
        client.request(
            "POST",
            "/api/v1/triggers",
            json={
                "name": f"{who}-yearly",
                "schedule": {"cron": "0 0 1 1 *"},
                "target": {"kind": "training", "spec": spec},
            },
        )
        firing = client.request("POST", f"/api/v1/triggers/{who}-yearly/fire", json={})
        assert firing["status"] == "fired", firing["error"]
        fired.append(client.request("GET", f"/api/v1/jobs/{firing['job']}"))
    assert fired[0]["experiment_id"] == fired[1]["experiment_id"]
    assert [job["created_by"] for job in fired] == ["bob", "carol"]
