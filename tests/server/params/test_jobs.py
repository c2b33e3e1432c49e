"""Specs that reference parameters: resolved at submit with the submitter's permissions; a
SecureString reaches the job's process through its environment and is stored nowhere."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.services.server_process import ServerProcess

from dockyard.client.http import Client
from dockyard.errors import InvalidArgument, NotFound
from dockyard.server.params._secrets import new_key

SCRIPTS = Path(__file__).parent / "scripts"
SECRET = "pa55-clear-value-of-the-db"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("params-jobs") / "home"
    process = ServerProcess(
        home,
        env={
            "DOCKYARD_PARAMS_KEY": new_key(),
            "DOCKYARD_EXECUTOR_CPUS": "1",
            "DOCKYARD_DATA_ROOTS": f"{SCRIPTS},{tmp_path_factory.getbasetemp()}",
        },
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> Iterator[Client]:
    c = Client(server.url, retry_for=5)
    put = {"name": "/t/model/threshold", "value": "0.75"}
    c.request("POST", "/api/v1/params", json=put)
    c.request("POST", "/api/v1/params", json={**put, "value": "0.8", "overwrite": True})
    c.request(
        "POST",
        "/api/v1/params/labels",
        json={"name": put["name"], "version": 1, "labels": ["prod"]},
    )
    hosts = {"name": "/t/hosts", "value": "a,b", "type": "StringList"}
    c.request("POST", "/api/v1/params", json=hosts)
    secret = {"name": "/t/db/password", "value": SECRET, "type": "SecureString"}
    c.request("POST", "/api/v1/params", json=secret)
    yield c
    c.close()


def _wait(client: Client, name: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.request("GET", f"/api/v1/jobs/{name}")
        if job["status"] in ("Completed", "Failed", "Stopped"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {name} did not end in {timeout} s")


def test_a_job_gets_its_parameters_and_stores_no_secret(
    client: Client, server: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "env.json"
    spec = {
        "name": "with-params",
        "entry_point": "env_dump.py",
        "source_dir": str(SCRIPTS),
        "hyperparameters": {"threshold": "{{param:/t/model/threshold:prod}}"},
        "environment": {
            "OUT": str(out),
            "THRESHOLD": "{{param:/t/model/threshold}}",
            "HOSTS": "{{ param:/t/hosts }}",
            "DB_PASSWORD": "{{param:/t/db/password}}",
            "DSN": "postgresql://app:{{param:/t/db/password}}@db/app",
        },
    }
    submitted = client.request("POST", "/api/v1/jobs/training", json=spec)
    job = _wait(client, submitted["name"])
    assert job["status"] == "Completed", job["failure_reason"]
    assert json.loads(out.read_text()) == {
        "THRESHOLD": "0.8",
        "HOSTS": "a,b",
        "DB_PASSWORD": SECRET,
        "DSN": f"postgresql://app:{SECRET}@db/app",
    }
    # Stored: String values and, for the secret, a reference pinned to the version used.
    environment = job["spec"]["environment"]
    assert environment["THRESHOLD"] == "0.8"
    assert environment["DB_PASSWORD"] == "{{param:/t/db/password:1}}"
    assert job["spec"]["hyperparameters"]["threshold"] == "0.75"  # the prod label: version 1
    used = {(u["name"], u["version"], u["field"]) for u in job["parameters"]}
    assert used == {
        ("/t/model/threshold", 1, "hyperparameters.threshold"),
        ("/t/model/threshold", 2, "environment.THRESHOLD"),
        ("/t/hosts", 1, "environment.HOSTS"),
        ("/t/db/password", 1, "environment.DB_PASSWORD"),
        ("/t/db/password", 1, "environment.DSN"),
    }
    run = client.request("GET", f"/api/v1/runs/{job['run_id']}")
    assert run["params"]["threshold"] == "0.75"
    events = client.request("GET", "/api/v1/events", params={"limit": 1000})
    assert SECRET not in json.dumps(events)
    submitted_event = [e for e in events["events"] if e["type"] == "job.submitted"][-1]
    assert "/t/db/password:1" in submitted_event["body"]["parameters"]
    # Handing the secret to the job's runner is a decrypted read, audited as one.
    revealed = [
        e
        for e in events["events"]
        if e["type"] == "parameter.decrypted" and e["resource_id"] == "/t/db/password"
    ]
    assert [e["body"] for e in revealed] == [{"version": 1, "for": "environment"}]
    # Nowhere on the server's disk in clear: database (and its WAL), job log, server log.
    log = client._http.get(f"/api/v1/jobs/{job['name']}/logs").text
    assert SECRET not in log
    for file in [*server.home.rglob("*"), *server.home.parent.glob("server-*.log")]:
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes(), file


def test_a_secure_string_outside_the_environment_is_refused(client: Client) -> None:
    spec = {
        "name": "leaky",
        "entry_point": "env_dump.py",
        "source_dir": str(SCRIPTS),
        "hyperparameters": {"pw": "{{param:/t/db/password}}"},
    }
    with pytest.raises(InvalidArgument) as caught:
        client.request("POST", "/api/v1/jobs/training", json=spec)
    assert caught.value.field == "hyperparameters.pw"
    assert SECRET not in caught.value.message


def test_bad_references_name_their_field(client: Client) -> None:
    base = {"entry_point": "env_dump.py", "source_dir": str(SCRIPTS)}
    with pytest.raises(NotFound) as missing:
        client.request(
            "POST",
            "/api/v1/jobs/training",
            json={**base, "name": "missing", "environment": {"X": "{{param:/t/nope}}"}},
        )
    assert missing.value.field == "environment.X"
    with pytest.raises(InvalidArgument) as malformed:
        client.request(
            "POST",
            "/api/v1/jobs/training",
            json={**base, "name": "malformed", "environment": {"X": "{{param:t/x}}"}},
        )
    assert malformed.value.field == "environment.X"
    with pytest.raises(InvalidArgument) as unclosed:
        client.request(
            "POST",
            "/api/v1/jobs/training",
            json={**base, "name": "unclosed", "environment": {"X": "{{param:/t/hosts"}},
        )
    assert unclosed.value.field == "environment.X"


def test_a_secret_the_job_prints_is_masked_in_its_log_and_failure(client: Client) -> None:
    spec = {
        "name": "prints-its-secret",
        "entry_point": "secret_echo.py",
        "source_dir": str(SCRIPTS),
        "environment": {
            "DB_PASSWORD": "{{param:/t/db/password}}",
            "DSN": "postgresql://app:{{param:/t/db/password}}@db/app",
        },
    }
    submitted = client.request("POST", "/api/v1/jobs/training", json=spec)
    job = _wait(client, submitted["name"])
    assert job["status"] == "Failed"
    log = client._http.get(f"/api/v1/jobs/{job['name']}/logs").text
    assert "connecting with ****** to postgresql://app:******@db/app" in log
    assert "\npa55-clear\n" in log
    assert SECRET not in log
    assert "could not connect: password ****** refused" in job["failure_reason"]
    assert SECRET not in job["failure_reason"]
