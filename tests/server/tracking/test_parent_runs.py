"""Nesting a run under another: the parent is a run its creator may read, named by the field
that named it (the native ``parent_run_id``, MLflow's ``mlflow.parentRunId`` tag); a job's token
nests runs under its own run only in experiments its submitter may write to."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dockyard.server import create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.server._services import Services
from dockyard.server.actor import JobScope
from dockyard.server.store import schema
from dockyard.settings import Settings

PASSWORD = "correct horse battery"
MLF = "/api/2.0/mlflow"


class Team:
    def __init__(self, client: httpx.Client, services: Services) -> None:
        self.client = client
        self.services = services
        self.headers: dict[str, dict[str, str]] = {}

    def call(self, who: str, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.client.request(method, path, headers=self.headers[who], **kw)

    def ok(self, who: str, method: str, path: str, **kw: Any) -> Any:
        answer = self.call(who, method, path, **kw)
        assert answer.status_code < 300, answer.text
        return answer.json()

    def experiment(self, who: str, name: str) -> str:
        made = self.ok(who, "PUT", f"/api/v1/experiments/by-name/{name}")
        return str(made["experiment_id"])

    def run(self, who: str, experiment_id: str) -> str:
        made = self.ok(who, "POST", "/api/v1/runs", json={"experiment_id": experiment_id})
        return str(made["info"]["run_id"])


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """Nothing is readable by default: alice's experiments are hers."""
    settings = Settings(
        home=tmp_path_factory.mktemp("team"), default_permission="none", allowed_hosts=["dy.test"]
    )
    app = create_app(settings)
    transport = InProcessTransport(app, local=False)
    with httpx.Client(transport=transport, base_url="http://dy.test") as client:
        team = Team(client, app.state.services)
        admin: dict[str, str] = {}
        for name, role in (("admin", "admin"), ("alice", "member"), ("mallory", "member")):
            body = {"name": name, "role": role, "password": PASSWORD}
            made = client.post("/api/v1/users", json=body, headers=admin)
            assert made.status_code == 201, made.text
            basic = base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()
            token = client.post(
                "/api/v1/tokens", json={"name": "t"}, headers={"Authorization": f"Basic {basic}"}
            )
            assert token.status_code == 201, token.text
            team.headers[name] = {"Authorization": f"Bearer {token.json()['token']}"}
            admin = admin or team.headers[name]
        yield team
    transport.close()


def test_a_run_is_not_nested_under_a_run_its_creator_may_not_read(team: Team) -> None:
    alices = team.run("alice", team.experiment("alice", "alice-private"))
    own = team.experiment("mallory", "mallory-own")

    native = team.call(
        "mallory", "POST", "/api/v1/runs", json={"experiment_id": own, "parent_run_id": alices}
    )
    assert native.status_code == 403, native.text
    assert native.json()["error"]["field"] == "parent_run_id"
    assert "read permission" in native.json()["error"]["message"]

    tagged = team.call(
        "mallory",
        "POST",
        f"{MLF}/runs/create",
        json={"experiment_id": own, "tags": [{"key": "mlflow.parentRunId", "value": alices}]},
    )
    assert tagged.status_code == 403, tagged.text
    assert "tags.mlflow.parentRunId" in tagged.json()["message"]

    missing = team.call(
        "mallory", "POST", "/api/v1/runs", json={"experiment_id": own, "parent_run_id": "0" * 32}
    )
    assert missing.status_code == 404, missing.text
    assert missing.json()["error"]["field"] == "parent_run_id"
    # Nothing was made under alice's run.
    found = team.ok(
        "admin",
        "POST",
        f"{MLF}/runs/search",
        json={"experiment_ids": [own], "filter": f"tags.mlflow.parentRunId = '{alices}'"},
    )
    assert found.get("runs", []) == []


def test_a_run_nests_under_a_readable_run_and_an_admin_under_any(team: Team) -> None:
    experiment = team.experiment("alice", "alice-shared")
    alices = team.run("alice", experiment)
    grant = {"kind": "experiment", "resource": experiment, "user": "mallory", "level": "read"}
    team.ok("alice", "PUT", "/api/v1/grants", json=grant)
    own = team.experiment("mallory", "mallory-nested")
    made = team.ok(
        "mallory", "POST", "/api/v1/runs", json={"experiment_id": own, "parent_run_id": alices}
    )
    assert made["info"]["parent_run_id"] == alices
    by_tag = team.ok(
        "mallory",
        "POST",
        f"{MLF}/runs/create",
        json={"experiment_id": own, "tags": [{"key": "mlflow.parentRunId", "value": alices}]},
    )
    run_id = by_tag["run"]["info"]["run_id"]
    assert team.ok("mallory", "GET", f"/api/v1/runs/{run_id}")["info"]["parent_run_id"] == alices
    private = team.run("alice", team.experiment("alice", "alice-admin-sees"))
    admins = team.experiment("admin", "admin-own")
    nested = team.ok(
        "admin", "POST", "/api/v1/runs", json={"experiment_id": admins, "parent_run_id": private}
    )
    assert nested["info"]["parent_run_id"] == private


def test_a_jobs_token_nests_runs_only_where_its_submitter_may_write(team: Team) -> None:
    """A job's token may create runs under its own run: in its submitter's experiments, not in
    one its submitter may only read."""
    readable = team.experiment("alice", "alice-readable")
    grant = {"kind": "experiment", "resource": readable, "user": "mallory", "level": "read"}
    team.ok("alice", "PUT", "/api/v1/grants", json=grant)
    own = team.experiment("mallory", "mallory-jobs")
    job_run = team.run("mallory", own)
    with team.services.db.write() as conn:
        mallory = conn.execute(
            select(schema.users.c.user_id).where(schema.users.c.name == "mallory")
        ).scalar_one()
        token = team.services.auth.mint_job_token(
            conn, int(mallory), JobScope("job-1", "nightly", job_run), 3600
        )
    assert token is not None
    team.headers["job"] = {"Authorization": f"Bearer {token}"}

    child = team.ok(
        "job", "POST", "/api/v1/runs", json={"experiment_id": own, "parent_run_id": job_run}
    )
    assert child["info"]["parent_run_id"] == job_run
    refused = team.call(
        "job", "POST", "/api/v1/runs", json={"experiment_id": readable, "parent_run_id": job_run}
    )
    assert refused.status_code == 403, refused.text
    assert "edit permission on experiment" in refused.json()["error"]["message"]
    runs = team.ok("alice", "POST", f"{MLF}/runs/search", json={"experiment_ids": [readable]})
    assert runs.get("runs", []) == []
