"""Packages that carry a training script's SageMaker inference handlers.

The scripts are real SageMaker script-mode scripts (``tests/runtime/serving/scripts``), trained
here by running them as a training job would: ``SM_MODEL_DIR`` and ``SM_CHANNEL_TRAIN`` set, the
script run as ``__main__``. Packaging reads the script without running it; loading imports it (its
training block does not run) and calls ``model_fn``.
"""

from __future__ import annotations

import gc
import io
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris

from dockyard.errors import InvalidArgument, ModelError
from dockyard.models._inference_toolkit import NotAcceptableFormat, RawRequest, UnsupportedFormat
from dockyard.models._manifest import parse_manifest, read_manifest_bytes
from dockyard.models.flavors.sagemaker_script import handlers_in
from dockyard.models.pyfunc import load_model
from dockyard.runtime.runner._packaging import package_model

SCRIPTS = Path(__file__).resolve().parents[1] / "runtime" / "serving" / "scripts"
IRIS = load_iris()


def train(script_dir: Path, entry_point: str, work: Path) -> Path:
    """Run ``entry_point`` as SageMaker's training contract runs it; returns SM_MODEL_DIR."""
    channel, model_dir = work / "train", work / "model"
    channel.mkdir(parents=True)
    model_dir.mkdir()
    rows = np.column_stack([IRIS.target, IRIS.data])
    np.savetxt(channel / "iris.csv", rows, delimiter=",", fmt="%g")
    env = {**os.environ, "SM_MODEL_DIR": str(model_dir), "SM_CHANNEL_TRAIN": str(channel)}
    subprocess.run(
        [sys.executable, entry_point], cwd=script_dir, env=env, check=True, capture_output=True
    )
    return model_dir


@pytest.fixture(scope="module")
def iris_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("iris")
    code = work / "code"
    shutil.copytree(SCRIPTS / "iris", code)
    (code / "notes-written-by-the-job.txt").write_text("not part of source_dir")
    model_dir = train(code, "iris_tree.py", work)
    dest = work / "package"
    files = ["iris_tree.py"]  # what source_dir held before the job ran
    made = package_model(model_dir, dest, code_dir=code, entry_point="iris_tree.py", files=files)
    assert made == dest
    return dest


@pytest.fixture(scope="module")
def measurements_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("measurements")
    model_dir = train(SCRIPTS / "measurements", "train.py", work)
    dest = work / "package"
    package_model(model_dir, dest, code_dir=SCRIPTS / "measurements", entry_point="train.py")
    return dest


def _request(body: bytes, content_type: str | None, accept: str | None = None) -> RawRequest:
    return RawRequest(body, content_type, accept)


def test_the_package_carries_the_script_and_the_model_folder(iris_package: Path) -> None:
    manifest = parse_manifest(read_manifest_bytes(iris_package))
    conf = manifest.flavors["sagemaker_script"]
    assert conf == {
        "entry_point": "iris_tree.py",
        "code": "code",
        "model_dir": "model",
        "handlers": ["model_fn"],
    }
    assert manifest.python_function["loader_module"] == "dockyard.models.flavors.sagemaker_script"
    assert sorted(manifest.digests or {}) == [
        "code/iris_tree.py",
        "conda.yaml",
        "model/tree.joblib",
        "python_env.yaml",
        "requirements.txt",
    ]  # only source_dir's files: not what the job wrote beside them
    assert any(
        line.startswith("scikit-learn==")
        for line in (iris_package / "requirements.txt").read_text().splitlines()
    )


def test_default_handlers_read_json_csv_and_npy(iris_package: Path) -> None:
    model = load_model(iris_package)
    assert model.metadata.flavor == "sagemaker_script"
    assert model.invoke is not None
    rows = IRIS.data[[0, 60, 120]]
    expected = IRIS.target[[0, 60, 120]].tolist()

    answer = model.invoke(_request(json.dumps(rows.tolist()).encode(), "application/json"))
    assert (answer.content_type, json.loads(answer.body)) == ("application/json", expected)

    one = model.invoke(_request(b"5.1,3.5,1.4,0.2", "text/csv", "text/csv"))
    assert (one.body, one.content_type) == (b"0\n", "text/csv")  # one row stays a row

    buffer = io.BytesIO()
    np.save(buffer, rows)
    npy = model.invoke(_request(buffer.getvalue(), "application/x-npy", "application/x-npy"))
    assert np.load(io.BytesIO(npy.body)).tolist() == expected

    envelope = json.dumps({"instances": rows.tolist()}).encode()
    assert json.loads(model.invoke(_request(envelope, None, "*/*")).body) == expected
    np.testing.assert_array_equal(model.predict(rows), expected)  # predict_fn on decoded data


def test_default_handlers_refuse_what_they_cannot_read_or_write(iris_package: Path) -> None:
    model = load_model(iris_package)
    assert model.invoke is not None
    with pytest.raises(UnsupportedFormat, match="define input_fn"):
        model.invoke(_request(b"<x/>", "application/xml"))
    with pytest.raises(NotAcceptableFormat, match="define output_fn"):
        model.invoke(_request(b"[[1, 2, 3, 4]]", "application/json", "application/xml"))
    with pytest.raises(InvalidArgument, match="not a rectangular array of numbers"):
        model.invoke(_request(b"1,2,x,4\n", "text/csv"))
    pickled = io.BytesIO()
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InvalidArgument, match=r"not a \.npy array"):  # never unpickled
        model.invoke(_request(pickled.getvalue(), "application/x-npy"))


def test_custom_handlers_speak_their_own_content_type(measurements_package: Path) -> None:
    manifest = parse_manifest(read_manifest_bytes(measurements_package))
    assert manifest.flavors["sagemaker_script"]["handlers"] == [
        "model_fn",
        "input_fn",
        "predict_fn",
        "output_fn",
    ]
    model = load_model(measurements_package)
    assert model.invoke is not None
    body = b"5.1 3.5 1.4 0.2\n6.7 3.0 5.2 2.3\n"
    answer = model.invoke(_request(body, "application/x-measurements", "application/x-species"))
    assert answer.body == b"setosa\nvirginica\n"
    assert answer.content_type == "application/x-species"
    assert answer.custom_attributes == "classes=3"  # set through the context output_fn takes
    labelled = model.invoke(_request(body, "application/x-measurements"))
    assert json.loads(labelled.body)["species"] == ["setosa", "virginica"]
    with pytest.raises(ModelError, match="input_fn failed: ValueError: this model reads"):
        model.invoke(_request(b"[[1, 2, 3, 4]]", "application/json"))


def test_transform_fn_and_same_named_scripts(tmp_path: Path, iris_package: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "iris_tree.py").write_text(
        "def model_fn(model_dir):\n"
        "    return 'tree'\n\n"
        "def transform_fn(model, body, content_type, accept):\n"
        "    return f'{model}:{content_type}:{accept}:{body}', 'text/plain'\n"
    )
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "weights.bin").write_bytes(b"\0")
    package_model(model_dir, tmp_path / "pkg", code_dir=code, entry_point="iris_tree.py")
    first = load_model(iris_package)  # both scripts are iris_tree.py, in one process
    second = load_model(tmp_path / "pkg")
    assert second.invoke is not None and first.invoke is not None
    answer = second.invoke(_request(b"1,2", "text/csv", "text/csv"))
    assert (answer.body, answer.content_type) == (b"tree:text/csv:text/csv:1,2", "text/plain")
    assert first.invoke(_request(b"5.1,3.5,1.4,0.2", "text/csv")).body == b"[0]"


def test_transform_fn_with_input_fn_is_refused_as_sagemaker_does(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "serve.py").write_text(
        "def model_fn(d):\n    return 1\n\n"
        "def input_fn(b, c):\n    return b\n\n"
        "def transform_fn(m, b, c, a):\n    return b\n"
    )
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "x").write_text("x")
    package_model(model_dir, tmp_path / "pkg", code_dir=code, entry_point="serve.py")
    with pytest.raises(InvalidArgument, match="transform_fn cannot be used together with input_fn"):
        load_model(tmp_path / "pkg")


def test_a_script_without_handlers_packages_its_native_model(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("print('no handlers here')\n")
    assert handlers_in(code / "train.py") == []
    model_dir = train(SCRIPTS / "iris", "iris_tree.py", tmp_path / "work")
    package_model(model_dir, tmp_path / "pkg", code_dir=code, entry_point="train.py")
    assert load_model(tmp_path / "pkg").metadata.flavor == "sklearn"


def test_sagemakers_xgboost_example_serves_on_the_stand_ins(tmp_path: Path) -> None:
    """SageMaker's XGBoost framework example imports sagemaker_containers and
    sagemaker_xgboost_container at the top and unpickles a Booster in model_fn: it loads on
    Dockyard's stand-ins, and the Booster predicts on a DMatrix of the request."""
    import pickle

    import xgboost

    source = Path(__file__).resolve().parents[1] / "server" / "jobs" / "scripts" / "sagemaker"
    x, y = IRIS.data, (IRIS.target == 2).astype(float)
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 2}, xgboost.DMatrix(x, label=y), 5
    )
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "xgboost-model").write_bytes(pickle.dumps(booster))
    files = ["xgboost_framework.py"]
    package_model(model_dir, tmp_path / "pkg", code_dir=source, entry_point=files[0], files=files)
    with warnings.catch_warnings():
        # The example's model_fn leaves its file open (pickle.load(open(...))), as it is.
        warnings.simplefilter("ignore", ResourceWarning)
        model = load_model(tmp_path / "pkg")
        gc.collect()
    assert model.invoke is not None
    body = "".join(",".join(f"{v:g}" for v in row) + "\n" for row in x[[0, 149]]).encode()
    answer = json.loads(model.invoke(_request(body, "text/csv")).body)
    expected = booster.predict(xgboost.DMatrix(x[[0, 149]].astype(np.float32)))
    np.testing.assert_allclose(answer, expected, rtol=1e-6)
