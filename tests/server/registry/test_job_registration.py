"""A job registers its model into the model its spec's ``output.register_as`` names, with its own
token: that token holds no more than the job's submitter, who may name only a model they may
register into themselves (a new one, or one they hold ``edit`` on)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
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

    def job_token(self, who: str, run_id: str, register_as: str) -> dict[str, str]:
        """The token a job of ``who`` gets, as the job service mints it when the job starts."""
        scope = JobScope("job-1", "nightly", run_id, register_as=register_as)
        with self.services.db.write() as conn:
            user_id = conn.execute(
                select(schema.users.c.user_id).where(schema.users.c.name == who)
            ).scalar_one()
            token = self.services.auth.mint_job_token(conn, int(user_id), scope, 3600)
        assert token is not None
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    settings = Settings(
        home=tmp_path_factory.mktemp("team"), default_permission="read", allowed_hosts=["dy.test"]
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


def _run_with_package(team: Team, who: str, package: Path) -> str:
    experiment = team.ok(who, "PUT", f"/api/v1/experiments/by-name/{who}-exp")
    run = team.ok(who, "POST", "/api/v1/runs", json={"experiment_id": experiment["experiment_id"]})
    run_id: str = run["info"]["run_id"]
    for file in sorted(package.rglob("*")):
        if file.is_file():
            path = f"/api/v1/runs/{run_id}/artifacts/model/{file.relative_to(package).as_posix()}"
            team.ok(who, "PUT", path, content=file.read_bytes())
    return run_id


def test_a_job_spec_may_not_name_another_accounts_model(team: Team, registry_package: Path) -> None:
    team.ok("alice", "POST", "/api/v1/registered-models", json={"name": "alices"})
    data = team.ok("mallory", "PUT", "/api/v1/data/d/train.csv", content=b"1,0\n3,1\n5,2\n")
    spec = {
        "algorithm": "xgboost",
        "experiment": "mallory-exp",
        "name": "into-alices",
        "hyperparameters": {"num_round": "2", "objective": "reg:squarederror"},
        "inputs": {"train": {"uri": data["uri"], "content_type": "text/csv"}},
        "output": {"register_as": "alices"},
    }
    refused = team.call("mallory", "POST", "/api/v1/jobs/training", json=spec)
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["field"] == "output.register_as"
    assert "edit permission on registered model 'alices'" in error["message"]
    assert team.call("mallory", "GET", "/api/v1/jobs/into-alices").status_code == 404


def test_a_jobs_token_registers_only_where_its_submitter_may(
    team: Team, registry_package: Path
) -> None:
    run_id = _run_with_package(team, "mallory", registry_package)
    source = {"source": f"runs:/{run_id}/model"}
    # The model a job names may be new when it is submitted, and taken by someone else before
    # the job ends: the job's token then registers nothing into it.
    team.ok("alice", "POST", "/api/v1/registered-models", json={"name": "taken-meanwhile"})
    token = team.job_token("mallory", run_id, "taken-meanwhile")
    refused = team.client.post(
        "/api/v1/registered-models/taken-meanwhile/versions", json=source, headers=token
    )
    assert refused.status_code == 403, refused.text
    assert "edit permission on registered model 'taken-meanwhile'" in refused.text
    versions = team.ok("alice", "GET", "/api/v1/registered-models/taken-meanwhile/versions")
    assert versions["model_versions"] == []
    # Into a model of its own it registers, creating it first, as a job's runner does.
    own = team.job_token("mallory", run_id, "mallorys")
    made = team.client.post("/api/v1/registered-models", json={"name": "mallorys"}, headers=own)
    assert made.status_code == 201, made.text
    version = team.client.post(
        "/api/v1/registered-models/mallorys/versions", json=source, headers=own
    )
    assert version.status_code == 201, version.text
    # Once alice grants mallory edit, mallory's job registers into alice's model too.
    grant = {"kind": "registered_model", "resource": "taken-meanwhile", "user": "mallory"}
    team.ok("alice", "PUT", "/api/v1/grants", json={**grant, "level": "edit"})
    allowed = team.client.post(
        "/api/v1/registered-models/taken-meanwhile/versions", json=source, headers=token
    )
    assert allowed.status_code == 201, allowed.text
