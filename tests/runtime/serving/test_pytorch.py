"""PyTorch models served by a real worker process: JSON, CSV and OIP tensors, batching, errors,
the ONNX export of the same model, and which processes load torch at all."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cloudpickle
import httpx
import numpy as np
import pandas as pd
import pytest
from tests.runtime.serving.conftest import Launched, Spawned, config, variant

from dockyard.api.serving.client import WorkerAdmin
from dockyard.models import convert_to_onnx, save_model
from dockyard.models.pyfunc import PyFuncModel, load_model

torch = pytest.importorskip(
    "torch", reason="torch is not installed (make install-test adds it from /opt/wheels)"
)

from tests.runtime.serving import torch_models  # noqa: E402  (imports torch)

FEATURES = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def torch_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """tabular (4 named doubles), digits (float32 [-1, 1, 8, 8]), slow (tabular, 30 ms per
    forward) and digits-onnx (the digits model exported to ONNX)."""
    root = tmp_path_factory.mktemp("torch-packages")
    torch.manual_seed(0)
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(5, 4)), columns=FEATURES)
    tabular = torch_models.TabularNet()
    cloudpickle.register_pickle_by_value(torch_models)
    try:
        save_model(tabular, root / "tabular", input_example=frame)
        save_model(torch_models.Slow(tabular), root / "slow", input_example=frame)
        save_model(torch_models.DigitNet(), root / "digits", input_example=torch.rand(3, 1, 8, 8))
    finally:
        cloudpickle.unregister_pickle_by_value(torch_models)
    convert_to_onnx(root / "digits", root / "digits-onnx")
    return {p.name: p for p in root.iterdir()}


@pytest.fixture(scope="module")
def models(torch_packages: dict[str, Path]) -> dict[str, PyFuncModel]:
    """The packages loaded here, to compute expected predictions."""
    return {name: load_model(path) for name, path in torch_packages.items()}


@pytest.fixture(scope="module")
def worker(torch_packages: dict[str, Path]) -> Iterator[Spawned]:
    """One worker process serving the tabular network, the CNN and the slow network."""
    directory = Path(tempfile.mkdtemp(prefix="dy-"))
    cfg = config(
        directory,
        [
            variant("tabular", torch_packages["tabular"]),
            variant("digits", torch_packages["digits"], weight=0),
            variant("slow", torch_packages["slow"], weight=0),
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


def post(worker: Spawned, target: str, **kwargs: Any) -> httpx.Response:
    headers = {"x-dockyard-target-variant": target, **kwargs.pop("headers", {})}
    return httpx.post(f"{worker.url}/invocations", headers=headers, timeout=30, **kwargs)


def rows(n: int, seed: int = 1) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).normal(size=(n, 4)).round(6)


def images(n: int, seed: int = 2) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).random((n, 1, 8, 8)).astype(np.float32)


def test_tabular_json_and_csv_bodies(worker: Spawned, models: dict[str, PyFuncModel]) -> None:
    data = rows(6)
    expected = models["tabular"].predict(pd.DataFrame(data, columns=FEATURES))
    records = [dict(zip(FEATURES, row, strict=True)) for row in data.tolist()]
    bodies: list[dict[str, Any]] = [
        {"json": {"instances": data.tolist()}},
        {"json": {"instances": records}},
        {"json": {"inputs": {name: data[:, i].tolist() for i, name in enumerate(FEATURES)}}},
        {"json": {"dataframe_split": {"columns": FEATURES, "data": data.tolist()}}},
        {
            "content": "\n".join(",".join(map(str, row)) for row in data.tolist()),
            "headers": {"content-type": "text/csv", "accept": "application/json"},
        },
    ]
    for body in bodies:
        response = post(worker, "tabular", **body)
        assert response.status_code == 200, response.text
        assert response.headers["x-dockyard-variant"] == "tabular"
        got = np.asarray(response.json()["predictions"], dtype=np.float32)
        np.testing.assert_array_equal(got, expected)
    as_csv = post(
        worker, "tabular", json={"instances": data.tolist()}, headers={"accept": "text/csv"}
    )
    assert len(as_csv.text.splitlines()) == 6 and as_csv.text.count(",") == 12


def test_cnn_json_csv_and_oip_tensors(worker: Spawned, models: dict[str, PyFuncModel]) -> None:
    batch = images(4)
    expected = models["digits"].predict(batch)
    for key in ("inputs", "instances"):
        response = post(worker, "digits", json={key: batch.tolist()})
        assert response.status_code == 200, response.text
        np.testing.assert_allclose(response.json()["predictions"], expected, rtol=1e-6)
    flat = "\n".join(",".join(map(str, image.reshape(-1).tolist())) for image in batch)
    by_csv = post(
        worker,
        "digits",
        content=flat,
        headers={"content-type": "text/csv", "accept": "application/json"},
    )
    assert by_csv.status_code == 200, by_csv.text
    np.testing.assert_allclose(by_csv.json()["predictions"], expected, rtol=1e-6)

    body = {
        "id": "digits-1",
        "inputs": [
            {"name": "input", "shape": [4, 1, 8, 8], "datatype": "FP32", "data": batch.tolist()}
        ],
    }
    oip = httpx.post(f"{worker.url}/v2/models/digits/infer", json=body, timeout=30)
    assert oip.status_code == 200, oip.text
    (output,) = oip.json()["outputs"]
    assert (output["datatype"], output["shape"]) == ("FP32", [4, 10])
    np.testing.assert_allclose(np.reshape(output["data"], (4, 10)), expected, rtol=1e-6)
    assert oip.json()["id"] == "digits-1"


def test_cnn_binary_tensors_through_tritonclient(
    worker: Spawned, models: dict[str, PyFuncModel]
) -> None:
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(url=worker.url.removeprefix("http://"))
    try:
        meta = client.get_model_metadata("digits")
        assert meta["platform"] == "pytorch"
        assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 1, 8, 8]}]
        batch = images(3, seed=9)
        tensor = httpclient.InferInput("input", list(batch.shape), "FP32")
        tensor.set_data_from_numpy(batch, binary_data=True)
        result = client.infer("digits", [tensor])
        np.testing.assert_array_equal(
            result.as_numpy("predictions"), models["digits"].predict(batch)
        )
    finally:
        client.close()


def test_bad_shapes_are_400s_naming_the_input(worker: Spawned) -> None:
    wrong = post(worker, "digits", json={"inputs": images(2).reshape(2, 64).tolist()})
    assert wrong.status_code == 400
    error = wrong.json()
    assert "tensor 'input': expected shape [-1, 1, 8, 8], received [2, 64]" in error["message"]
    assert error["field"] == "input"

    tensor = {"name": "input", "shape": [2, 8, 8], "datatype": "FP32", "data": [0.0] * 128}
    body = {"inputs": [tensor]}
    oip = httpx.post(f"{worker.url}/v2/models/digits/infer", json=body, timeout=30)
    assert oip.status_code == 400
    assert "expected shape [-1, 1, 8, 8], received [2, 8, 8]" in oip.json()["error"]

    ragged = post(worker, "digits", json={"inputs": [[[1.0, 2.0]], [[1.0]]]})
    assert ragged.status_code == 400, ragged.text
    assert ragged.json()["field"] == "inputs"

    short = post(worker, "tabular", json={"instances": [[1.0, 2.0, 3.0]]})
    assert short.status_code == 400
    assert "every row needs 4 values" in short.json()["message"]
    split = {"columns": FEATURES[:3], "data": [[1.0, 2.0, 3.0]]}
    missing = post(worker, "tabular", json={"dataframe_split": split})
    assert missing.status_code == 400
    assert missing.json()["field"] == "d"


def test_concurrent_requests_share_a_forward_pass(
    worker: Spawned, models: dict[str, PyFuncModel]
) -> None:
    clients = 12
    barrier = threading.Barrier(clients)
    data = rows(clients, seed=3)

    def call(i: int) -> tuple[int, Any]:
        barrier.wait()
        response = post(worker, "slow", json={"instances": [data[i].tolist()]})
        assert response.status_code == 200, response.text
        return i, response.json()["predictions"]

    with ThreadPoolExecutor(clients) as pool:
        answers = dict(pool.map(call, range(clients)))
    expected = models["tabular"].predict(data)
    for i, predictions in answers.items():  # every caller got its own row back
        # Kernels differ with the batch size: the last float32 bits may too.
        np.testing.assert_allclose(predictions, expected[i : i + 1], rtol=1e-5, atol=1e-6)
    with WorkerAdmin(worker.ready["admin_socket"]) as admin:
        stats = admin.stats()["variants"]["slow"]
    calls = stats["batch_requests"]["count"]
    assert stats["batch_requests"]["sum"] == clients
    assert calls < clients, f"{clients} requests took {calls} forward passes"


def test_the_onnx_export_serves_the_same_answers_without_torch(
    torch_packages: dict[str, Path], models: dict[str, PyFuncModel], spawned: Any, short_dir: Path
) -> None:
    cfg = config(short_dir, [variant("onnx", torch_packages["digits-onnx"])])
    started = spawned(cfg).ready()
    batch = images(5, seed=4)
    response = httpx.post(f"{started.url}/invocations", json={"inputs": batch.tolist()}, timeout=30)
    assert response.status_code == 200, response.text
    np.testing.assert_allclose(
        response.json()["predictions"], models["digits"].predict(batch), atol=1e-6
    )
    assert not loads_torch(started.proc.pid)
    assert started.stop() == 0


def loads_torch(pid: int) -> bool:
    """Whether the process has torch's native library mapped (imported torch)."""
    return "libtorch" in Path(f"/proc/{pid}/maps").read_text()


def test_only_workers_serving_a_torch_model_load_torch(
    worker: Spawned, packages: dict[str, Path], spawned: Any, short_dir: Path
) -> None:
    assert loads_torch(worker.proc.pid)
    started = spawned(config(short_dir, [variant("xgb", packages["xgboost"])])).ready()
    assert not loads_torch(started.proc.pid)
    assert started.stop() == 0
