from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.runtime.serving.conftest import FEATURES, Running, config, rows, running, variant

from dockyard.models.pyfunc import PyFuncModel


@pytest.fixture(scope="module")
def worker(packages: dict[str, Path]) -> Iterator[Running]:
    directory = Path(tempfile.mkdtemp(prefix="dy-"))
    cfg = config(
        directory,
        [
            variant("xgb", packages["xgboost"]),
            variant("mixed", packages["sklearn"], weight=0),
            variant("sleeper", packages["sleeper"], weight=0),
        ],
    )
    try:
        with running(cfg) as w:
            yield w
    finally:
        shutil.rmtree(directory, ignore_errors=True)


DATA = rows(3)
RECORDS = [dict(zip(FEATURES, r, strict=True)) for r in DATA]


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": FEATURES, "data": DATA}},
        {"dataframe_split": {"columns": FEATURES[::-1], "data": [r[::-1] for r in DATA]}},
        {"dataframe_records": RECORDS},
        {"instances": DATA},
        {"instances": RECORDS},
        {"inputs": DATA},
        {"inputs": {name: [r[i] for r in DATA] for i, name in enumerate(FEATURES)}},
        DATA,
    ],
    ids=[
        "split",
        "split-reordered",
        "records",
        "instances",
        "instance-records",
        "inputs",
        "inputs-columns",
        "bare-list",
    ],
)
def test_every_envelope_gives_the_same_predictions(
    worker: Running, xgb: PyFuncModel, body: Any
) -> None:
    response = worker.client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    want = xgb.predict(pd.DataFrame(DATA, columns=FEATURES)).astype(np.float64).tolist()
    assert response.json() == {"predictions": want}


def test_mixed_column_types_take_the_general_path(worker: Running) -> None:
    headers = {"x-dockyard-target-variant": "mixed"}
    good = worker.client.post(
        "/invocations", json={"dataframe_records": [{"f": 0.5, "n": 3}]}, headers=headers
    )
    assert good.status_code == 200, good.text
    assert good.json()["predictions"] in ([0], [1])
    bad = worker.client.post(
        "/invocations", json={"dataframe_records": [{"f": 0.5, "n": 3.5}]}, headers=headers
    )
    assert bad.status_code == 400
    assert bad.json()["field"] == "n"
    assert bad.json()["error_code"] == "BAD_REQUEST"  # MLflow's clients read this


def test_params_reach_the_model_and_are_checked(worker: Running) -> None:
    headers = {"x-dockyard-target-variant": "sleeper"}
    ok = worker.client.post(
        "/invocations",
        json={"instances": [{"x": 4.0}], "params": {"seconds": 0.01}},
        headers=headers,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"predictions": [4.0]}
    typo = worker.client.post(
        "/invocations", json={"instances": [{"x": 4.0}], "params": {"secnds": 1}}, headers=headers
    )
    assert typo.status_code == 400
    assert "secnds" in typo.json()["message"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{", "not valid JSON"),
        (b'{"dataframe_split": {"columns": ["a"]}}', "dataframe_split"),
        (
            b'{"dataframe_split": {"columns": ["a","b","c","z"], "data": [[1,2,3,4]]}}',
            "missing column 'd'",
        ),
        (b'{"params": [1], "instances": [[1,2,3,4]]}', "params"),
    ],
    ids=["syntax", "no-data", "missing-column", "params-not-object"],
)
def test_malformed_bodies_are_400_naming_the_problem(
    worker: Running, body: bytes, words: str
) -> None:
    response = worker.client.post(
        "/invocations", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert words in response.json()["message"]
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_side_routes_answer_like_mlflows_scoring_server(worker: Running) -> None:
    assert worker.client.get("/health").status_code == 200
    version = worker.client.get("/version")
    assert version.status_code == 200 and version.text[0].isdigit()
