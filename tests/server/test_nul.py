"""NUL characters are refused at the door, naming where they were, in each client's error shape;
on PostgreSQL (whose text cannot hold them) no route answers one with a 500."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.server import Services, create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.settings import Settings

HOST = "dockyard.test"


def _client(services: Services, *, local: bool = True) -> httpx.Client:
    transport = InProcessTransport(create_app(services=services), local=local)
    return httpx.Client(transport=transport, base_url=f"http://{HOST}")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[httpx.Client]:
    services = Services.from_settings(Settings(home=tmp_path / "home", allowed_hosts=[HOST]))
    with _client(services) as made:
        yield made
    services.close()


def test_a_path_with_nul_is_refused_naming_it(client: httpx.Client) -> None:
    answer = client.get("/api/v1/jobs/a%00b")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["field"] == "path"
    assert "/api/v1/jobs/a%00b" in error["message"]
    assert "NUL" in error["message"]


def test_a_query_parameter_with_nul_is_refused_naming_it(client: httpx.Client) -> None:
    answer = client.get("/api/2.0/mlflow/experiments/get-by-name?experiment_name=a%00b")
    assert answer.status_code == 400
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"  # what MLflow clients read
    assert "'experiment_name'" in answer.json()["message"]
    # a key with NUL is named too; %00 elsewhere in the query is no NUL of a value
    assert client.get("/api/v1/experiments?a%00=1").json()["error"]["field"] == "a%00"
    assert client.get("/api/v1/experiments?q=100%25%30%30").status_code == 200


def test_a_json_body_with_nul_is_refused_naming_its_field(client: httpx.Client) -> None:
    body = b'{"name": "x", "tags": [{"key": "k", "value": "a\\u0000b"}]}'
    answer = client.post("/api/2.0/mlflow/experiments/create", content=body)
    assert answer.status_code == 400
    assert "'tags[0].value'" in answer.json()["message"]
    native = client.post("/api/v1/experiments", content=b'{"name": "a\\u0000b"}')
    assert native.status_code == 400
    assert native.json()["error"]["field"] == "name"
    # An escaped backslash before "u0000" is text, not a NUL.
    kept = client.post("/api/2.0/mlflow/experiments/create", content=b'{"name": "a\\\\u0000b"}')
    assert kept.status_code == 200, kept.text
    named = client.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": "1"})
    assert named.json()["experiment"]["name"] == "a\\u0000b"


def test_an_aws_form_with_nul_is_answered_in_aws_xml(client: httpx.Client) -> None:
    form = {"Action": "CreateTopic", "Name": "a\x00b", "Version": "2010-03-31"}
    answer = client.post("/", data=form)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/xml")
    assert "<Code>InvalidParameter</Code>" in answer.text
    assert "&#x27;Name&#x27;" in answer.text or "'Name'" in answer.text


def test_an_endpoints_input_may_hold_nul(client: httpx.Client) -> None:
    # A model's input is not stored as text: the endpoint is looked for (and is missing).
    answer = client.post(
        "/endpoints/nothing/invocations",
        content=b'{"inputs": ["a\\u0000b"]}',
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 404, answer.text
    in_name = client.post("/endpoints/a%00b/invocations", content=b"1")
    assert in_name.status_code == 400
    assert in_name.json()["__type"] == "ValidationError"  # what boto3 reads


def test_before_authentication_which_records_refused_paths(tmp_path: Path) -> None:
    services = Services.from_settings(Settings(home=tmp_path / "home", allowed_hosts=[HOST]))
    with _client(services, local=False) as remote:
        admin = {"name": "alice", "role": "admin", "password": "correct horse battery"}
        assert remote.post("/api/v1/users", json=admin).status_code == 201  # sign-in required
        assert remote.post("/api/v1/jobs/a%00b/stop").status_code == 400
        assert remote.post("/api/v1/jobs/ab/stop").status_code == 401
    services.close()


def test_no_route_answers_nul_with_a_500_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    settings = Settings(home=tmp_path / "home", database_url=postgres_url, allowed_hosts=[HOST])
    services = Services.from_settings(settings)
    try:
        with _client(services) as made:
            paths = [
                (path, method.upper())
                for path, methods in made.get("/api/v1/openapi.json").json()["paths"].items()
                for method in methods
            ]
            assert len(paths) > 100
            query = "&".join(f"{name}=a%00b" for name in ("name", "run_id", "experiment_name"))
            for path, method in paths:
                url = re.sub(r"{\w+(:\w+)?}", "a%00b", path) + "?" + query
                answer = made.request(method, url, json={"name": "a\x00b"})
                assert answer.status_code == 400, (method, path, answer.text)
    finally:
        services.close()


def test_bytes_sent_as_bytes_are_not_read_as_json(client: httpx.Client) -> None:
    # A job's log is appended as the bytes its script printed, which may read as JSON.
    answer = client.post(
        "/api/v1/jobs/nothing/logs?offset=0",
        content=b'{"printed": "a\\u0000b"}',
        headers={"content-type": "application/octet-stream"},
    )
    assert answer.status_code in (403, 404), answer.text  # the route's own answer
    as_json = client.post(
        "/api/v1/jobs/nothing/logs?offset=0",
        content=b'{"printed": "a\\u0000b"}',
        headers={"content-type": "application/json"},
    )
    assert as_json.status_code == 400
    assert as_json.json()["error"]["field"] == "printed"
