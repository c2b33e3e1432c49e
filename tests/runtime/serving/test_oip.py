from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.runtime.serving.conftest import FEATURES, Launched, Spawned, config, rows, variant

from dockyard.models.pyfunc import PyFuncModel
from dockyard.runtime.serving._oip import route


@pytest.fixture(scope="module")
def worker(packages: dict[str, Path]) -> Iterator[Spawned]:
    """A real worker process: blue and green serve the XGBoost model, labels a DataFrame model."""
    directory = Path(tempfile.mkdtemp(prefix="dy-"))
    cfg = config(
        directory,
        [
            variant("blue", packages["xgboost"]),
            variant("green", packages["xgboost"], weight=0),
            variant("labels", packages["labeller"], weight=0),
        ],
    )
    launched = Launched(cfg, directory)
    try:
        started = launched.ready()
        yield started
        assert started.stop() == 0
    finally:
        launched.kill()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def triton(worker: Spawned) -> Iterator[Any]:
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(url=worker.url.removeprefix("http://"))
    yield client
    client.close()


def expected(xgb: PyFuncModel, data: np.ndarray) -> np.ndarray:
    return np.asarray(xgb.predict(pd.DataFrame(data, columns=FEATURES)))


def test_health_and_metadata_through_tritonclient(triton: Any) -> None:
    assert triton.is_server_live()
    assert triton.is_server_ready()
    assert triton.is_model_ready("ep")
    assert triton.is_model_ready("green")
    assert triton.get_server_metadata()["name"] == "dockyard"
    meta = triton.get_model_metadata("ep")
    assert meta["versions"] == ["blue", "green", "labels"]
    assert meta["platform"] == "xgboost"
    assert meta["inputs"] == [{"name": "input", "datatype": "FP64", "shape": [-1, 4]}]
    assert meta["outputs"][0]["name"] == "predictions"


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["fp64", "fp32"])
def test_infer_matrix_input(triton: Any, xgb: PyFuncModel, binary: bool, dtype: type) -> None:
    import tritonclient.http as httpclient

    data: np.ndarray[Any, Any] = np.asarray(rows(5), dtype=dtype)
    tensor = httpclient.InferInput(
        "input", list(data.shape), "FP64" if dtype is np.float64 else "FP32"
    )
    tensor.set_data_from_numpy(data, binary_data=binary)
    output = httpclient.InferRequestedOutput("predictions", binary_data=binary)
    result = triton.infer("ep", [tensor], outputs=[output], request_id="r-1")
    got = result.as_numpy("predictions")
    np.testing.assert_array_equal(got, expected(xgb, data.astype(np.float64)))
    response = result.get_response()
    assert response["id"] == "r-1"
    assert response["model_name"] == "ep"
    assert response["model_version"] == "blue"


def test_variant_by_name_or_version_pins_it(triton: Any, xgb: PyFuncModel) -> None:
    import tritonclient.http as httpclient

    data = np.asarray(rows(2))
    tensor = httpclient.InferInput("input", list(data.shape), "FP64")
    tensor.set_data_from_numpy(data)
    by_name = triton.infer("green", [tensor])  # default: all outputs in binary
    assert by_name.get_response()["model_version"] == "green"
    np.testing.assert_array_equal(by_name.as_numpy("predictions"), expected(xgb, data))
    by_version = triton.infer("ep", [tensor], model_version="green")
    assert by_version.get_response()["model_version"] == "green"


def test_column_tensors_bytes_outputs_and_output_selection(triton: Any) -> None:
    import tritonclient.http as httpclient

    x = np.array([1.5, -2.0])
    tensor = httpclient.InferInput("x", [2], "FP64")
    tensor.set_data_from_numpy(x)
    labels = triton.infer("labels", [tensor])
    np.testing.assert_array_equal(labels.as_numpy("double"), x * 2)
    assert labels.as_numpy("label").tolist() == [b"pos", b"neg"]
    only = triton.infer(
        "labels", [tensor], outputs=[httpclient.InferRequestedOutput("label", binary_data=False)]
    )
    assert only.as_numpy("double") is None
    assert only.as_numpy("label").tolist() == ["pos", "neg"]


def test_errors_reach_the_client_as_messages(triton: Any) -> None:
    import tritonclient.http as httpclient
    from tritonclient.utils import InferenceServerException

    wrong = httpclient.InferInput("input", [1, 3], "FP64")
    wrong.set_data_from_numpy(np.zeros((1, 3)))
    with pytest.raises(
        InferenceServerException,
        match=r"input 'input': one tensor of the model's 4 columns has shape \[rows, 4\], "
        r"got \[1, 3\]",
    ) as caught:
        triton.infer("ep", [wrong])
    assert caught.value.status() == "400"
    # A row sent as one [columns] tensor under a name the signature does not know.
    row = httpclient.InferInput("x", [4], "FP64")
    row.set_data_from_numpy(np.zeros(4))
    with pytest.raises(
        InferenceServerException, match=r"input 'x' is not a column of the model's signature"
    ):
        triton.infer("ep", [row])
    with pytest.raises(InferenceServerException, match="no model 'nope'"):
        triton.get_model_metadata("nope")
    with pytest.raises(
        InferenceServerException,
        match=r"model 'ep' has no version '2' on this endpoint: its versions are the "
        r"endpoint's variants \(blue, green, labels\)",
    ):
        triton.get_model_metadata("ep", model_version="2")
    # A variant is a model too, whose one version is itself: not "no model 'green'".
    assert triton.get_model_metadata("green")["versions"] == ["green"]
    assert triton.get_model_metadata("green", model_version="green")["name"] == "green"
    with pytest.raises(
        InferenceServerException,
        match=r"model 'green' has no version '7' on this endpoint: a variant's only version is "
        r"its own name \(green\)",
    ):
        triton.get_model_metadata("green", model_version="7")
    flags = httpclient.InferInput("input", [1, 4], "BOOL")
    flags.set_data_from_numpy(np.array([[True, False, True, False]]))
    with pytest.raises(InferenceServerException, match="expected float64, received bool"):
        triton.infer("ep", [flags])


def test_json_tensors_over_plain_http(worker: Spawned, xgb: PyFuncModel) -> None:
    import httpx

    data = rows(2)
    body = {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP64", "data": data}]}
    response = httpx.post(f"{worker.url}/v2/models/ep/infer", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["x-dockyard-variant"] == "blue"
    out = response.json()["outputs"][0]
    assert out["shape"] == [2] and out["datatype"] == "FP32"
    np.testing.assert_allclose(out["data"], expected(xgb, np.asarray(data)), rtol=1e-6)
    bad = httpx.post(
        f"{worker.url}/v2/models/ep/infer",
        json={"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": [1, 2]}]},
    )
    assert bad.status_code == 400
    assert "holds 4 values, data has 2" in bad.json()["error"]


@pytest.mark.parametrize(
    ("path", "expected_route"),
    [
        ("/v2/models/ep", ("ep", None, "metadata")),
        ("/v2/models/ep/ready", ("ep", None, "ready")),
        ("/v2/models/ep/infer", ("ep", None, "infer")),
        ("/v2/models/ep/versions/blue/infer", ("ep", "blue", "infer")),
        ("/v2/models/ep/versions/blue", ("ep", "blue", "metadata")),
        ("/v2/models/ep/other", None),
        ("/v2/models/", None),
    ],
)
def test_route_parsing(path: str, expected_route: tuple[str, str | None, str] | None) -> None:
    parsed = route(path)
    got = (parsed.name, parsed.version, parsed.action) if parsed else None
    assert got == expected_route
