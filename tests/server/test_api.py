"""The native REST API over HTTP (in-process app): shapes, statuses and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from dockyard.client.http import Client
from dockyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from dockyard.limits import LIMITS


def _raw(api: Client, method: str, path: str, **kw: Any) -> httpx.Response:
    return api._http.request(method, path, **kw)


def _new_run(api: Client) -> str:
    return str(api.request("POST", "/api/v1/runs", json={})["info"]["run_id"])


def test_health_and_openapi(api: Client) -> None:
    assert api.request("GET", "/healthz")["status"] == "ok"
    doc = api.request("GET", "/api/v1/openapi.json")
    assert "/api/v1/runs/{run_id}/batch" in doc["paths"]


def test_metrics_endpoint_counts_requests_by_route(api: Client) -> None:
    api.request("GET", "/api/v1/experiments")
    text = _raw(api, "GET", "/metrics").text
    assert 'route="/api/v1/experiments"' in text and 'status="200"' in text


def test_errors_rebuild_the_server_class(api: Client) -> None:
    with pytest.raises(NotFound) as caught:
        api.request("GET", "/api/v1/runs/" + "a" * 32)
    assert caught.value.field == "run_id"
    api.request("POST", "/api/v1/experiments", json={"name": "x"})
    with pytest.raises(AlreadyExists):
        api.request("POST", "/api/v1/experiments", json={"name": "x"})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metrics": [{"key": "a", "value": "high", "timestamp": 1}]}, "metrics.0.value"),
        ({"metrics": [{"key": "a", "value": 1}]}, "metrics.0.timestamp"),
        ({"metrics": [{"key": "a" * 251, "value": 1, "timestamp": 1}]}, "metrics.0.key"),
        ({"metrics": [{"key": "../up", "value": 1, "timestamp": 1}]}, "metrics.0.key"),
        ({"params": [{"key": "p", "value": "v" * 6001}]}, "params.0.value"),
        ({"tags": [{"key": "t", "value": "v" * 8001}]}, "tags.0.value"),
        ({"surprise": 1}, "surprise"),
        ({"metrics": [{"key": "a", "value": 1, "timestamp": -5}]}, "metrics.0.timestamp"),
    ],
    ids=[
        "wrong-type",
        "missing",
        "long-key",
        "path-key",
        "long-param",
        "long-tag",
        "unknown",
        "negative-time",
    ],
)
def test_bad_batches_name_the_field(api: Client, body: dict[str, Any], field: str) -> None:
    run_id = _new_run(api)
    with pytest.raises(InvalidArgument) as caught:
        api.request("POST", f"/api/v1/runs/{run_id}/batch", json=body)
    assert caught.value.field == field, caught.value.message


def test_malformed_json_is_400(api: Client) -> None:
    run_id = _new_run(api)
    response = _raw(
        api,
        "POST",
        f"/api/v1/runs/{run_id}/batch",
        content=b'{"metrics": [',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_argument"


def _nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (_nested(LIMITS.json_depth - 1), None),  # the body holds it one level down
        (_nested(LIMITS.json_depth), f"nests deeper than {LIMITS.json_depth} levels"),
        (_nested(400), f"nests deeper than {LIMITS.json_depth} levels"),
        (_nested(5000), f"nests deeper than {LIMITS.json_depth} levels"),
    ],
)
def test_json_nested_too_deep_is_refused_at_the_door(
    api: Client, message: str, problem: str | None
) -> None:
    """A message is kept as given (an event's body) and written later: a value nested past
    what the server writes is a 400 saying so, not a 500."""
    api.request("POST", "/api/v1/topics", json={"name": "deep"})
    response = _raw(
        api,
        "POST",
        "/api/v1/topics/deep/publish",
        content=('{"message": ' + message + "}").encode(),
        headers={"content-type": "application/json"},
    )
    if problem is None:
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["field"] == "body" and problem in error["message"]


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_metrics_cross_json_as_strings(api: Client, text: str) -> None:
    run_id = _new_run(api)
    api.request(
        "POST",
        f"/api/v1/runs/{run_id}/batch",
        json={"metrics": [{"key": "m", "value": text, "timestamp": 1}]},
    )
    raw = _raw(api, "GET", f"/api/v1/runs/{run_id}").json()
    assert raw["metrics"]["m"]["value"] == text


def test_param_change_is_a_conflict(api: Client) -> None:
    run_id = _new_run(api)
    path = f"/api/v1/runs/{run_id}/batch"
    api.request("POST", path, json={"params": [{"key": "lr", "value": "1"}]})
    with pytest.raises(Conflict, match="immutable"):
        api.request("POST", path, json={"params": [{"key": "lr", "value": "2"}]})


def test_compare_lines_up_runs(api: Client) -> None:
    a, b = _new_run(api), _new_run(api)
    api.request(
        "POST",
        f"/api/v1/runs/{a}/batch",
        json={
            "params": [{"key": "lr", "value": "1"}],
            "metrics": [{"key": "rmse", "value": 0.5, "timestamp": 1}],
            "tags": [
                {"key": "mlflow.source.git.commit", "value": "abc123"},
                {"key": "mlflow.runName", "value": "a"},
                {"key": "team", "value": "risk"},
            ],
        },
    )
    api.request(
        "POST", f"/api/v1/runs/{b}/batch", json={"params": [{"key": "depth", "value": "3"}]}
    )
    data = api.request("GET", "/api/v1/runs/compare", params={"run_ids": [a, b]})
    assert data["params"] == {"depth": [None, "3"], "lr": ["1", None]}
    assert data["metrics"] == {"rmse": [0.5, None]}
    # Where each run came from is answered too, apart from the tags shown side by side.
    assert data["tags"] == {"team": ["risk", None]}
    assert data["sources"] == {"mlflow.source.git.commit": ["abc123", None]}
    assert len(data["attributes"]["user_id"]) == 2


@pytest.mark.parametrize(
    "path",
    ["../escape.txt", "a/../../escape.txt", "%2Fetc%2Fpasswd", "a/%00b"],
    ids=["dotdot", "nested-dotdot", "absolute", "nul"],
)
def test_artifact_paths_cannot_escape(api: Client, path: str) -> None:
    run_id = _new_run(api)
    response = _raw(api, "PUT", f"/api/v1/runs/{run_id}/artifacts/{path}", content=b"x")
    assert response.status_code in (400, 404), response.text
    assert response.status_code != 500


def test_artifact_upload_list_download(api: Client) -> None:
    run_id = _new_run(api)
    api.request("PUT", f"/api/v1/runs/{run_id}/artifacts/model/weights.bin", content=b"\x00" * 1000)
    api.request("PUT", f"/api/v1/runs/{run_id}/artifacts/notes.txt", content=b"hello")
    top = api.request("GET", f"/api/v1/runs/{run_id}/artifacts")["files"]
    assert {(f["path"], f["is_dir"]) for f in top} == {("model", True), ("notes.txt", False)}
    response = _raw(api, "GET", f"/api/v1/runs/{run_id}/artifacts/notes.txt")
    assert response.content == b"hello"
    with pytest.raises(NotFound):
        api.request("GET", f"/api/v1/runs/{run_id}/artifacts/missing.txt")


@pytest.mark.parametrize(
    ("name", "fallback"),
    [("数据.csv", "__.csv"), ('say "hi" 100%.txt', "say _hi_ 100_.txt")],
    ids=["non-latin-1", "quotes-and-percent"],
)
def test_any_file_name_downloads_with_an_rfc_6266_header(
    api: Client, name: str, fallback: str
) -> None:
    run_id = _new_run(api)
    url = f"/api/v1/runs/{run_id}/artifacts/dir/{quote(name)}"
    api.request("PUT", url, content=b"a,b\n1,2\n")
    response = _raw(api, "GET", url)
    assert response.status_code == 200, response.text
    assert response.content == b"a,b\n1,2\n"
    assert response.headers["content-disposition"] == (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
    )


def test_plain_file_names_keep_the_simple_header(api: Client) -> None:
    run_id = _new_run(api)
    api.request("PUT", f"/api/v1/runs/{run_id}/artifacts/notes.txt", content=b"x")
    response = _raw(api, "GET", f"/api/v1/runs/{run_id}/artifacts/notes.txt")
    assert response.headers["content-disposition"] == 'attachment; filename="notes.txt"'


def test_oversized_bodies_get_413_before_any_route(api: Client) -> None:
    run_id = _new_run(api)
    big = b'{"tags": [' + b'{"key": "k", "value": "v"},' * 2_000_000 + b"]}"
    response = _raw(
        api,
        "POST",
        f"/api/v1/runs/{run_id}/batch",
        content=big,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.headers["connection"] == "close"
    # An MLflow client reads MLflow's shape (MLflow has no 413 code).
    mlflow = _raw(
        api,
        "POST",
        "/api/2.0/mlflow/runs/log-batch",
        content=big,
        headers={"content-type": "application/json"},
    )
    assert mlflow.status_code == 413
    assert mlflow.json() == {
        "error_code": "INVALID_PARAMETER_VALUE",
        "message": "request body over the 32 MB limit",
    }
    # Uploads stream and are not limited by it.
    api.request("PUT", f"/api/v1/runs/{run_id}/artifacts/big.bin", content=b"\0" * len(big))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/2.0/mlflow/experiments/search"),  # read as JSON without a query string
        ("DELETE", "/api/2.0/mlflow/registered-models/delete"),
    ],
)
def test_bodies_of_gets_and_deletes_are_held_to_the_limit_too(
    api: Client, method: str, path: str
) -> None:
    """MLflow's server reads a GET's or a DELETE's parameters from a JSON body: a body any
    method sends is limited, declared or chunked, or a reader's token could make the server
    hold gigabytes."""
    padding = b" " * (33 * 1024 * 1024)

    def chunked() -> Iterator[bytes]:
        yield b"{}"
        yield padding

    for content in (b"{}" + padding, chunked()):
        response = _raw(
            api, method, path, content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 413, response.text
        assert response.json()["message"] == "request body over the 32 MB limit"
    assert _raw(api, "GET", "/api/2.0/mlflow/experiments/search", content=b"{}").status_code == 200


def test_routes_open_to_anyone_read_small_bodies_only(api: Client) -> None:
    """Signing in and triggers' hooks take bodies from senders not yet known: they are held
    to limits of their own before any route runs (connection closed, the rest unread), so a
    client with no credentials cannot make the server hold 32 MB a connection."""
    padded = b'{"username": "u", "password": "p"' + b" " * (64 * 1024) + b"}"
    sign_in = _raw(
        api,
        "POST",
        "/api/v1/session",
        content=padded,
        headers={"content-type": "application/json"},
    )
    assert sign_in.status_code == 413, sign_in.text
    assert sign_in.json()["error"]["message"] == "request body over the 64 KiB limit"
    assert sign_in.headers["connection"] == "close"

    def chunked() -> Iterator[bytes]:  # no Content-Length: only the bytes read can tell
        for _ in range(8):
            yield b"x" * (1024 * 1024)

    hook = _raw(api, "POST", "/api/v1/hooks/triggers/any", content=chunked())
    assert hook.status_code == 413, hook.text
    assert hook.json()["error"]["message"] == "request body over the 5 MB limit"
    assert hook.headers["connection"] == "close"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/topics/kept/publish", '{"message": {"a": "half \\ud800"}}', "message"),
        (
            "/api/v1/triggers",
            '{"name": "t", "schedule": {"rate": "1 day"},'
            ' "target": {"kind": "pipeline", "spec": {"pipeline": "p", "input": "\\udfff"}}}',
            "target.spec",
        ),
    ],
)
def test_free_form_json_the_server_could_not_store_names_its_field(
    api: Client, path: str, body: str, field: str
) -> None:
    """Python's parser takes half of a UTF-16 surrogate pair from a ``\\ud800`` escape; orjson
    cannot write it: kept in a message or a trigger's spec, it was a 500 when stored."""
    api.request("POST", "/api/v1/topics", json={"name": "kept"})
    response = _raw(
        api, "POST", path, content=body.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    assert "cannot store" in error["message"] and "surrogates not allowed" in error["message"]
