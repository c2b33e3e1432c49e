"""The MLflow adapter over raw HTTP: bad input is a 4xx in MLflow's error shape, never a 500."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from tests.services.live_server import LiveServer

from dockyard.server.store import Database
from dockyard.settings import Settings

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture(scope="module")
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=20) as client:
        yield client


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    message: str = body["message"]
    return message


def _run(http: httpx.Client) -> dict[str, Any]:
    name = f"http-{uuid.uuid4().hex}"
    experiment_id = _ok(http.post(f"{API}/experiments/create", json={"name": name}))[
        "experiment_id"
    ]
    run: dict[str, Any] = _ok(
        http.post(f"{API}/runs/create", json={"experiment_id": experiment_id})
    )["run"]["info"]
    return run


def _metric(run_id: str, **fields: Any) -> dict[str, Any]:
    return {"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0, **fields}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "Malformed JSON"),
        (b'{"name": "x",}', "Malformed JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"just a string"', "Malformed JSON"),
    ],
    ids=["garbage", "trailing-comma", "array", "string"],
)
def test_malformed_json_is_bad_request(http: httpx.Client, body: bytes, fragment: str) -> None:
    response = http.post(
        f"{API}/experiments/create", content=body, headers={"content-type": "application/json"}
    )
    assert fragment in _error(response, 400, "BAD_REQUEST")


def test_double_encoded_json_from_old_clients_is_accepted(http: httpx.Client) -> None:
    name = f"double-{uuid.uuid4().hex}"
    inner = httpx.Request("POST", "/", json={"name": name}).content.decode()
    response = http.post(f"{API}/experiments/create", json=inner)
    assert _ok(response)["experiment_id"]


@pytest.mark.parametrize(
    ("fields", "parameter"),
    [
        ({"value": "abc"}, "'value'"),
        ({"value": None}, "'value'"),
        ({"key": 5}, "'key'"),
        ({"key": ""}, "'key'"),
        ({"timestamp": "soon"}, "'timestamp'"),
        ({"timestamp": 1.5}, "'timestamp'"),
        ({"timestamp": -1}, "'timestamp'"),
        ({"step": [1]}, "'step'"),
        ({"step": 2**64}, "'step'"),
        ({"key": "k" * 251}, "'key'"),
        ({"key": "a/../b"}, "'key'"),
    ],
    ids=[
        "value-text",
        "value-null",
        "key-number",
        "key-empty",
        "timestamp-text",
        "timestamp-fraction",
        "timestamp-negative",
        "step-list",
        "step-overflow",
        "key-too-long",
        "key-dotdot",
    ],
)
def test_bad_metric_fields_are_named(
    http: httpx.Client, fields: dict[str, Any], parameter: str
) -> None:
    run_id = _run(http)["run_id"]
    response = http.post(f"{API}/runs/log-metric", json=_metric(run_id, **fields))
    assert parameter in _error(response, 400, "INVALID_PARAMETER_VALUE")


def test_missing_run_id_is_named(http: httpx.Client) -> None:
    response = http.post(f"{API}/runs/log-metric", json={"key": "m", "value": 1, "timestamp": 1})
    message = _error(response, 400, "INVALID_PARAMETER_VALUE")
    assert "Missing value for required parameter 'run_id'" in message


def test_batch_items_are_named_by_position(http: httpx.Client) -> None:
    run_id = _run(http)["run_id"]
    metrics = [
        {"key": "ok", "value": 1, "timestamp": 1},
        {"key": "ok", "value": "x", "timestamp": 1},
    ]
    response = http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics})
    assert "'metrics[1].value'" in _error(response, 400, "INVALID_PARAMETER_VALUE")
    tags = [{"key": "fine", "value": "v"}, {"value": "no key"}]
    response = http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "tags": tags})
    assert "'tags[1].key'" in _error(response, 400, "INVALID_PARAMETER_VALUE")
    params = [{"key": "p", "value": ["not", "a", "string"]}]
    response = http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "params": params})
    assert "'params[0].value'" in _error(response, 400, "INVALID_PARAMETER_VALUE")


def test_unknown_fields_are_ignored_as_by_mlflow(http: httpx.Client) -> None:
    # Newer clients send fields older servers do not know; a dataset without a model is unused.
    run_id = _run(http)["run_id"]
    body = _metric(run_id, dataset_name="d", no_such_field={"x": 1})
    assert _ok(http.post(f"{API}/runs/log-metric", json=body)) == {}


def test_non_finite_values_are_accepted_and_returned_as_protobuf_spells_them(
    http: httpx.Client,
) -> None:
    run_id = _run(http)["run_id"]
    sent = ["NaN", "Infinity", "-Infinity", "1.5", 1e308, -0.0]
    for step, value in enumerate(sent):
        _ok(http.post(f"{API}/runs/log-metric", json=_metric(run_id, value=value, step=step)))
    history = _ok(
        http.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
    )
    assert [m["value"] for m in history["metrics"]] == [
        "NaN",
        "Infinity",
        "-Infinity",
        1.5,
        1e308,
        -0.0,
    ]
    latest = _ok(http.get(f"{API}/runs/get", params={"run_id": run_id}))["run"]["data"]["metrics"]
    assert latest == [{"key": "m", "value": -0.0, "timestamp": 1, "step": 5}]


def test_history_pages_with_max_results_and_tokens(http: httpx.Client) -> None:
    run_id = _run(http)["run_id"]
    metrics = [{"key": "h", "value": i, "timestamp": i, "step": i} for i in range(7)]
    _ok(http.post(f"{API}/runs/log-batch", json={"run_id": run_id, "metrics": metrics}))
    values: list[float] = []
    params: dict[str, Any] = {"run_id": run_id, "metric_key": "h", "max_results": 3}
    pages = 0
    while True:
        page = _ok(http.get(f"{API}/metrics/get-history", params=params))
        values += [m["value"] for m in page["metrics"]]
        pages += 1
        if "next_page_token" not in page:
            break
        params["page_token"] = page["next_page_token"]
    assert (values, pages) == ([float(i) for i in range(7)], 3)
    unpaged = _ok(
        http.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "h"})
    )
    assert len(unpaged["metrics"]) == 7 and "next_page_token" not in unpaged
    bad = http.get(f"{API}/metrics/get-history", params={**params, "page_token": "%%%"})
    _error(bad, 400, "INVALID_PARAMETER_VALUE")
    zero = http.get(
        f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "h", "max_results": 0}
    )
    _error(zero, 400, "INVALID_PARAMETER_VALUE")


def test_search_max_results_over_mlflows_limit(http: httpx.Client) -> None:
    response = http.post(
        f"{API}/runs/search", json={"experiment_ids": ["0"], "max_results": 50_001}
    )
    assert "max_results" in _error(response, 400, "INVALID_PARAMETER_VALUE")
    response = http.post(
        f"{API}/runs/search", json={"experiment_ids": ["0"], "max_results": "many"}
    )
    assert "max_results" in _error(response, 400, "INVALID_PARAMETER_VALUE")


def test_get_and_post_search_and_the_ajax_prefix(http: httpx.Client) -> None:
    name = f"search-{uuid.uuid4().hex}"
    experiment_id = _ok(http.post(f"{API}/experiments/create", json={"name": name}))[
        "experiment_id"
    ]
    for response in (
        http.get(
            f"{API}/experiments/search", params={"filter": f"name = '{name}'", "max_results": 5}
        ),
        http.post(f"{API}/experiments/search", json={"filter": f"name = '{name}'"}),
        http.post("/ajax-api/2.0/mlflow/experiments/search", json={"filter": f"name = '{name}'"}),
    ):
        assert [e["experiment_id"] for e in _ok(response)["experiments"]] == [experiment_id]
    # A GET repeats a list parameter in the query string.
    first, second = _run(http), _run(http)
    runs = http.get(
        f"{API}/runs/search",
        params={"experiment_ids": [first["experiment_id"], second["experiment_id"]]},
    )
    found = sorted(r["info"]["run_id"] for r in _ok(runs)["runs"])
    assert found == sorted([first["run_id"], second["run_id"]])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"{API}/no/such/endpoint"),
        ("GET", f"{API}/runs/create"),
        ("POST", "/api/3.0/mlflow/traces"),
        ("GET", "/api/2.0/mlflow-artifacts/mpu/create"),
    ],
    ids=["unknown", "wrong-method", "traces-v3", "multipart"],
)
def test_unknown_endpoints_are_endpoint_not_found(
    http: httpx.Client, method: str, path: str
) -> None:
    _error(http.request(method, path, json={}), 404, "ENDPOINT_NOT_FOUND")


def test_artifact_round_trip_and_missing_file(http: httpx.Client) -> None:
    run = _run(http)
    root = run["artifact_uri"].removeprefix("mlflow-artifacts:/")
    assert _ok(http.put(f"{ARTIFACTS}/{root}/dir/f.txt", content=b"hello")) == {}
    assert http.get(f"{ARTIFACTS}/{root}/dir/f.txt").content == b"hello"
    listing = _ok(http.get(ARTIFACTS, params={"path": f"{root}/dir"}))
    assert listing == {"files": [{"path": "f.txt", "is_dir": False, "file_size": 5}]}
    _error(http.get(f"{ARTIFACTS}/{root}/dir/missing.txt"), 404, "RESOURCE_DOES_NOT_EXIST")
    _error(http.get(f"{ARTIFACTS}/{root}/dir"), 400, "INVALID_PARAMETER_VALUE")
    _error(http.put(f"{ARTIFACTS}/{root}", content=b"x"), 400, "INVALID_PARAMETER_VALUE")
    assert _ok(http.delete(f"{ARTIFACTS}/{root}/dir")) == {}
    assert _ok(http.get(ARTIFACTS, params={"path": root})) == {"files": []}


def test_a_non_latin_1_file_name_downloads(http: httpx.Client) -> None:
    run = _run(http)
    root = run["artifact_uri"].removeprefix("mlflow-artifacts:/")
    url = f"{ARTIFACTS}/{root}/{quote('数据.csv')}"
    assert _ok(http.put(url, content=b"a\n1\n")) == {}
    response = http.get(url)
    assert response.status_code == 200, response.text
    assert response.content == b"a\n1\n"
    assert response.headers["content-disposition"].endswith(
        "filename*=UTF-8''%E6%95%B0%E6%8D%AE.csv"
    )
    listing = _ok(http.get(ARTIFACTS, params={"path": root}))
    assert listing["files"][0]["path"] == "数据.csv"


@pytest.mark.parametrize(
    "path",
    [
        "%2E%2E/outside.txt",
        "{root}/%2E%2E/%2E%2E/%2E%2E/outside.txt",
        "{root}/..%5C..%5Coutside.txt",
        "/etc/outside.txt",
        "{root}/a%00b.txt",
        "{experiment}/outside.txt",
        "999999/{run_id}/artifacts/outside.txt",
        "{experiment}/{run_id}/elsewhere/outside.txt",
    ],
    ids=[
        "leading-dotdot",
        "climbing-out-of-the-run",
        "backslash",
        "absolute",
        "nul",
        "experiment-folder",
        "wrong-experiment",
        "not-the-artifacts-folder",
    ],
)
def test_artifact_paths_outside_a_run_are_refused(
    http: httpx.Client, live_server: LiveServer, path: str
) -> None:
    run = _run(http)
    target = path.format(
        root=run["artifact_uri"].removeprefix("mlflow-artifacts:/"),
        experiment=run["experiment_id"],
        run_id=run["run_id"],
    )
    for response in (
        http.put(f"{ARTIFACTS}/{target}", content=b"x"),
        http.get(f"{ARTIFACTS}/{target}"),
        http.delete(f"{ARTIFACTS}/{target}"),
    ):
        _error(response, 400, "INVALID_PARAMETER_VALUE")
    assert list(live_server.home.rglob("outside.txt")) == []


@pytest.mark.parametrize(
    "path",
    ["../x", "/etc", "", "0", "{experiment}/{run_id}/artifacts/../../.."],
    ids=["dotdot", "absolute", "root", "experiment", "climbing"],
)
def test_listing_outside_a_run_is_refused(http: httpx.Client, path: str) -> None:
    run = _run(http)
    target = path.format(experiment=run["experiment_id"], run_id=run["run_id"])
    _error(http.get(ARTIFACTS, params={"path": target}), 400, "INVALID_PARAMETER_VALUE")


def test_listing_an_unknown_run_is_resource_does_not_exist(http: httpx.Client) -> None:
    response = http.get(ARTIFACTS, params={"path": f"0/{'f' * 32}/artifacts"})
    _error(response, 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize(
    ("status", "expected"),
    [("FINISHED", "FINISHED"), (3, "FINISHED"), ("5", "KILLED")],
    ids=["name", "number", "number-as-text"],
)
def test_enums_by_name_or_protobuf_number(http: httpx.Client, status: Any, expected: str) -> None:
    run = _run(http)
    info = _ok(http.post(f"{API}/runs/update", json={"run_id": run["run_id"], "status": status}))
    assert info["run_info"]["status"] == expected
    assert info["run_info"]["end_time"] > 0
    _ok(http.post(f"{API}/runs/delete", json={"run_id": run["run_id"]}))
    found = http.post(
        f"{API}/runs/search",
        json={"experiment_ids": [run["experiment_id"]], "run_view_type": 2},
    )
    assert [r["info"]["run_id"] for r in _ok(found)["runs"]] == [run["run_id"]]


@pytest.mark.parametrize("status", ["finished", 9, True, {"x": 1}], ids=str)
def test_unknown_enum_values_are_refused(http: httpx.Client, status: Any) -> None:
    run = _run(http)
    response = http.post(f"{API}/runs/update", json={"run_id": run["run_id"], "status": status})
    assert "'status'" in _error(response, 400, "INVALID_PARAMETER_VALUE")


# A page token is base64 JSON {"offset": n}; this one names an offset past SQLite's int64.
_HUGE_OFFSET = base64.urlsafe_b64encode(b'{"offset": 9223372036854775808}').decode()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("experiments/delete", {"experiment_id": "9" * 30}),
        ("runs/search", {"experiment_ids": ["9" * 30]}),
        ("experiments/search", {"page_token": _HUGE_OFFSET}),
    ],
    ids=["experiment-id", "search-experiment-ids", "page-token-offset"],
)
def test_numbers_beyond_64_bits_are_a_client_error(
    http: httpx.Client, path: str, body: dict[str, Any]
) -> None:
    assert http.post(f"{API}/{path}", json=body).status_code < 500


def test_a_metric_logged_while_another_process_writes_waits_its_turn(
    http: httpx.Client, live_server: LiveServer
) -> None:
    """A small write runs on the server's event loop only when it need not wait: here another
    process holds the database's write lock, so the write is refused there before it begins
    and waits in a thread instead, then succeeds."""
    run_id = _run(http)["run_id"]
    other = Database(Settings(home=live_server.home).resolved_database_url)
    with ThreadPoolExecutor(1) as pool:
        try:
            with other.write() as conn:
                conn.exec_driver_sql("UPDATE runs SET name = name WHERE run_id = ?", (run_id,))
                logged = pool.submit(http.post, f"{API}/runs/log-metric", json=_metric(run_id))
                # Whenever it arrives, the lock is held: it cannot have been answered yet.
                assert not logged.done()
            _ok(logged.result(timeout=20))
        finally:
            other.dispose()
    history = _ok(
        http.get(f"{API}/metrics/get-history", params={"run_id": run_id, "metric_key": "m"})
    )
    assert [m["value"] for m in history["metrics"]] == [1.0]
