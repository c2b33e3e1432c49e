"""Property-based fuzzing of the MLflow adapter: no request body or path may produce a 500.

Requests go to an in-process app of their own (fuzzing renames and deletes things, which must not
disturb the tests sharing the live server). Field names are MLflow's, values are arbitrary JSON
mixed with ids that exist, so the fuzzer reaches the service and not only the type checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.server import create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.settings import Settings

_FIELDS = [
    "run_id", "run_uuid", "experiment_id", "experiment_ids", "experiment_name", "name",
    "new_name", "key", "value", "timestamp", "step", "metrics", "params", "tags", "filter",
    "order_by", "max_results", "page_token", "status", "end_time", "start_time", "run_name",
    "metric_key", "view_type", "run_view_type", "datasets", "models", "artifact_location",
    "user_id",
]  # fmt: skip
_ENDPOINTS = [
    ("POST", "experiments/create"), ("GET", "experiments/get"),
    ("GET", "experiments/get-by-name"), ("POST", "experiments/search"),
    ("GET", "experiments/search"), ("POST", "experiments/update"),
    ("POST", "experiments/delete"), ("POST", "experiments/restore"),
    ("POST", "experiments/set-experiment-tag"), ("POST", "experiments/delete-experiment-tag"),
    ("POST", "runs/create"), ("GET", "runs/get"), ("POST", "runs/update"),
    ("POST", "runs/delete"), ("POST", "runs/restore"), ("POST", "runs/log-metric"),
    ("POST", "runs/log-parameter"), ("POST", "runs/set-tag"), ("POST", "runs/delete-tag"),
    ("POST", "runs/log-batch"), ("POST", "runs/log-inputs"), ("POST", "runs/search"),
    ("GET", "runs/search"), ("GET", "metrics/get-history"), ("POST", "logged-models/search"),
]  # fmt: skip
# Placeholders swapped for real ids at request time (the ids exist only once the app does).
_KNOWN = ["$RUN", "$EXPERIMENT", "0", "m", "NaN", "-Infinity", "1", "ALL", "FINISHED"]

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(_KNOWN)
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
_item = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(("key", "value", "timestamp", "step", "dataset", "tags"), _json),
)
_value = _json | st.lists(_item, max_size=3)
_bodies = st.dictionaries(st.sampled_from(_FIELDS), _value, max_size=6)
_segments = st.sampled_from(["..", ".", "", "%00", "a\\b", "$ROOT", "x.txt", "/", "%2E%2E"])
# Control characters cannot be put in a URL by any client, so they are not generated.
_printable = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=8)
_paths = st.lists(_segments | _printable, max_size=6).map("/".join)


class _Target:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        experiment = client.post(
            "/api/2.0/mlflow/experiments/create", json={"name": "fuzz"}
        ).json()["experiment_id"]
        run = client.post("/api/2.0/mlflow/runs/create", json={"experiment_id": experiment}).json()[
            "run"
        ]["info"]
        self.ids = {
            "$RUN": run["run_id"],
            "$EXPERIMENT": experiment,
            "$ROOT": run["artifact_uri"].removeprefix("mlflow-artifacts:/"),
        }

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            for placeholder, real in self.ids.items():
                value = value.replace(placeholder, real)
            return value
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Target]:
    home: Path = tmp_path_factory.mktemp("mlflow-fuzz")
    transport = InProcessTransport(create_app(Settings(home=home)))
    with httpx.Client(transport=transport, base_url="http://dockyard.test") as client:
        yield _Target(client)
    transport.close()


def _assert_mlflow_answer(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()) == {"error_code", "message"}, response.text


_FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_FUZZ
@given(endpoint=st.sampled_from(_ENDPOINTS), body=_bodies)
def test_no_json_request_is_a_server_error(
    target: _Target, endpoint: tuple[str, str], body: dict[str, Any]
) -> None:
    method, path = endpoint
    filled = target.fill(body)
    url = f"/api/2.0/mlflow/{path}"
    if method == "GET":
        query = {
            k: [str(i) for i in v] if isinstance(v, list) else json.dumps(v).strip('"')
            for k, v in filled.items()
        }
        response = target.client.get(url, params=query)
    else:
        # The standard library's encoder, because it writes integers beyond 64 bits too.
        response = target.client.post(url, content=json.dumps(filled))
    _assert_mlflow_answer(response)


@_FUZZ
@given(endpoint=st.sampled_from(_ENDPOINTS), raw=st.binary(max_size=64))
def test_no_raw_body_is_a_server_error(
    target: _Target, endpoint: tuple[str, str], raw: bytes
) -> None:
    method, path = endpoint
    _assert_mlflow_answer(target.client.request(method, f"/api/2.0/mlflow/{path}", content=raw))


@_FUZZ
@given(method=st.sampled_from(["GET", "PUT", "DELETE", "LIST"]), path=_paths)
def test_no_artifact_path_is_a_server_error(target: _Target, method: str, path: str) -> None:
    filled = target.fill(path)
    base = "/api/2.0/mlflow-artifacts/artifacts"
    if method == "LIST":
        response = target.client.get(base, params={"path": filled})
    else:
        response = target.client.request(method, f"{base}/{filled}", content=b"data")
    assert response.status_code < 500, response.text
