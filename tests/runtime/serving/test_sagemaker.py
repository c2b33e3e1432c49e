from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest
from tests.runtime.serving.conftest import (
    FEATURES,
    Running,
    config,
    rows,
    running,
    split_body,
    variant,
)

from dockyard.models.pyfunc import PyFuncModel


@pytest.fixture(scope="module")
def worker(packages: dict[str, Path]) -> Iterator[Running]:
    directory = Path(tempfile.mkdtemp(prefix="dy-"))
    cfg = config(
        directory,
        [variant("xgb", packages["xgboost"]), variant("labels", packages["labeller"], weight=0)],
    )
    try:
        with running(cfg) as w:
            yield w
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def expected(xgb: PyFuncModel, data: list[list[float]]) -> list[float]:
    predictions = xgb.predict(pd.DataFrame(data, columns=FEATURES))
    values: list[float] = predictions.astype(np.float64).tolist()
    return values


def test_ping(worker: Running) -> None:
    response = worker.client.get("/ping")
    assert response.status_code == 200
    assert response.json() == {}


@pytest.mark.parametrize("n", [1, 64], ids=["one-row", "64-rows"])
def test_json_rows_answer_what_the_package_predicts(
    worker: Running, xgb: PyFuncModel, n: int
) -> None:
    data = rows(n)
    response = worker.client.post("/invocations", json=split_body(data))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-dockyard-variant"] == "xgb"
    assert response.json() == {"predictions": expected(xgb, data)}


def test_csv_in_csv_out(worker: Running, xgb: PyFuncModel) -> None:
    data = rows(3)
    body = "\n".join(",".join(repr(v) for v in row) for row in data) + "\n"
    response = worker.client.post(
        "/invocations", content=body, headers={"content-type": "text/csv", "accept": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv"
    got = [float(line) for line in response.text.splitlines()]
    np.testing.assert_allclose(got, expected(xgb, data), rtol=1e-6)


def test_csv_with_header_and_json_lines_out(worker: Running, xgb: PyFuncModel) -> None:
    data = rows(2)
    body = ",".join(FEATURES) + "\n" + "\n".join(",".join(map(str, r)) for r in data)
    response = worker.client.post(
        "/invocations",
        content=body,
        headers={"content-type": "text/csv", "accept": "application/jsonlines"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/jsonlines"
    assert [orjson.loads(line) for line in response.content.splitlines()] == expected(xgb, data)


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def test_npy_in_npy_out_as_the_sagemaker_sdks_numpy_serializers_send_and_read(
    worker: Running, xgb: PyFuncModel
) -> None:
    data = rows(3)
    headers = {"content-type": "application/x-npy", "accept": "application/x-npy"}
    response = worker.client.post("/invocations", content=_npy(np.array(data)), headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-npy"
    got = np.load(io.BytesIO(response.content), allow_pickle=False)
    np.testing.assert_allclose(got, expected(xgb, data), rtol=1e-6)
    one = worker.client.post("/invocations", content=_npy(np.array(data[0])), headers=headers)
    assert one.status_code == 200, one.text  # a 1-D array is one row
    np.testing.assert_allclose(np.load(io.BytesIO(one.content)), expected(xgb, data[:1]), rtol=1e-6)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"not an npy file", "not one NumPy array"),
        (_npy(np.zeros((2, 2, 2))), "3-dimensional"),
        (_npy(np.array([{"a": 1}], dtype=object)), "must hold numbers or strings"),
        # a header claiming far more than the body holds: refused before anything is allocated
        (_npy(np.zeros(4)).replace(b"(4,)", b"(10000000000000,)"), "80000000000000 bytes"),
        (_npy(np.zeros(4))[:-8], "but 24 follow it"),
    ],
    ids=["garbage", "3-d", "objects", "huge-header", "short"],
)
def test_a_bad_npy_body_is_a_400_naming_the_problem(
    worker: Running, body: bytes, says: str
) -> None:
    response = worker.client.post(
        "/invocations", content=body, headers={"content-type": "application/x-npy"}
    )
    assert response.status_code == 400, response.text
    assert says in response.text


@pytest.mark.parametrize("shape", ["rows", "records"])
def test_json_lines_in(worker: Running, xgb: PyFuncModel, shape: str) -> None:
    data = rows(3)
    lines = data if shape == "rows" else [dict(zip(FEATURES, r, strict=True)) for r in data]
    body = b"\n".join(orjson.dumps(line) for line in lines) + b"\n"
    response = worker.client.post(
        "/invocations", content=body, headers={"content-type": "application/jsonlines"}
    )
    assert response.status_code == 200, response.text
    # JSON Lines in, JSON Lines out (no Accept): one prediction per line.
    answered = [orjson.loads(line) for line in response.content.splitlines()]
    assert answered == expected(xgb, data)


def test_json_lines_errors_name_the_line(worker: Running) -> None:
    body = b"[1, 2, 3, 4]\n{oops\n"
    response = worker.client.post(
        "/invocations", content=body, headers={"content-type": "application/jsonlines"}
    )
    assert response.status_code == 400
    assert "line 2" in response.json()["message"]


def test_accept_negotiation_refuses_what_it_cannot_write(worker: Running) -> None:
    response = worker.client.post(
        "/invocations", json=split_body(rows(1)), headers={"accept": "application/xml"}
    )
    assert response.status_code == 406
    assert "application/xml" in response.json()["message"]


def test_unknown_content_type_is_415(worker: Running) -> None:
    response = worker.client.post(
        "/invocations", content=b"<x/>", headers={"content-type": "application/xml"}
    )
    assert response.status_code == 415
    assert "application/xml" in response.json()["message"]


def test_multi_output_model_in_each_format(worker: Running) -> None:
    headers = {"x-dockyard-target-variant": "labels"}
    body = {"instances": [{"x": 1.0}, {"x": -2.0}]}
    as_json = worker.client.post("/invocations", json=body, headers=headers)
    assert as_json.json() == {
        "predictions": [{"double": 2.0, "label": "pos"}, {"double": -4.0, "label": "neg"}]
    }
    as_csv = worker.client.post(
        "/invocations", json=body, headers={**headers, "accept": "text/csv"}
    )
    assert as_csv.text.splitlines() == ["2.0,pos", "-4.0,neg"]
    assert as_csv.headers["x-dockyard-variant"] == "labels"
