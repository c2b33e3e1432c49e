"""Packages move both ways with the real ``mlflow`` package."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.errors import InvalidArgument
from dockyard.models import save_model
from dockyard.models.flavors.python_model import PythonModel, PythonModelContext
from dockyard.models.pyfunc import load_model

pytestmark = [
    # mlflow's signature inference hints about integer columns; these tests give it integers.
    pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer:UserWarning"),
    # mlflow 3.17's schema inference compares a pandas Index with a range, which pandas 3
    # deprecates; the call is inside mlflow.
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated"),
]


@pytest.fixture(scope="session")
def mlflow() -> Any:
    """The mlflow package, imported here because importing it warns (see below)."""
    with warnings.catch_warnings():
        # Importing mlflow.pyfunc infers schemas for mlflow's own agent types and warns that
        # one of its hints is Any: mlflow's internals, nothing these tests do.
        warnings.filterwarnings(
            "ignore", message=".*Any type hint is inferred", category=UserWarning
        )
        import mlflow
        import mlflow.lightgbm
        import mlflow.pyfunc
        import mlflow.sklearn
        import mlflow.xgboost

    return mlflow


@pytest.fixture(autouse=True)
def _allow_mlflow_to_unpickle(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # mlflow refuses every pickle (and skops) load unless this is set; Dockyard's packages are
    # verified by digest instead, which mlflow does not know about.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    yield


@pytest.mark.parametrize("name", ["sklearn", "xgboost", "lightgbm"])
def test_mlflow_loads_dockyard_packages(
    mlflow: Any, name: str, packages: dict[str, Path], frame: pd.DataFrame
) -> None:
    theirs = mlflow.pyfunc.load_model(str(packages[name]))
    ours = load_model(packages[name])
    np.testing.assert_array_equal(np.asarray(theirs.predict(frame)), ours.predict(frame))
    assert theirs.metadata.signature.inputs.input_names() == ["a", "b", "c"]


class Multiplier(PythonModel):
    def load_context(self, context: PythonModelContext) -> None:
        self.factor = json.loads(Path(context.artifacts["config"]).read_text())["factor"]

    def predict(self, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        return model_input["a"].to_numpy() * self.factor


def test_mlflow_loads_a_dockyard_python_model_with_artifacts(mlflow: Any, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"factor": 3}))
    example = pd.DataFrame({"a": [1.0, 2.0]})
    save_model(Multiplier(), tmp_path / "m", input_example=example, artifacts={"config": config})
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    assert np.asarray(theirs.predict(example)).tolist() == [3.0, 6.0]


def test_mlflow_loads_a_dockyard_onnx_package(mlflow: Any, tmp_path: Path) -> None:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LinearRegression

    x = np.random.default_rng(2).random((20, 2)).astype(np.float32)
    graph = convert_sklearn(
        LinearRegression().fit(x, x[:, 0]), initial_types=[("x", FloatTensorType([None, 2]))]
    )
    save_model(graph, tmp_path / "m", input_example=x[:2])
    theirs = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_allclose(
        np.asarray(theirs.predict(x)["variable"]).reshape(-1),
        load_model(tmp_path / "m").predict(x).reshape(-1),
    )


@pytest.mark.parametrize("flavor", ["sklearn", "xgboost", "lightgbm"])
def test_dockyard_loads_mlflow_packages(
    mlflow: Any, flavor: str, tmp_path: Path, frame: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    fixture = {"sklearn": "sklearn_model", "xgboost": "xgb_model", "lightgbm": "lgbm_model"}[flavor]
    native = request.getfixturevalue(fixture)
    getattr(mlflow, flavor).save_model(native, str(tmp_path / "m"), input_example=frame.head(3))
    with pytest.raises(InvalidArgument, match="no file digests"):
        load_model(tmp_path / "m")
    model = load_model(tmp_path / "m", allow_unverified=True)
    assert model.metadata.flavor == flavor
    assert not model.metadata.verified
    np.testing.assert_array_equal(model.predict(frame), native.predict(frame))
    with pytest.raises(InvalidArgument, match="column 'b': expected long"):
        model.predict(frame.assign(b=frame["b"] + 0.5))


def test_dockyard_loads_an_mlflow_python_model(mlflow: Any, tmp_path: Path) -> None:
    class MlflowStyle(mlflow.pyfunc.PythonModel):  # type: ignore[misc]
        def load_context(self, context: Any) -> None:
            self.offset = float(Path(context.artifacts["offset"]).read_text())

    def predict(self: Any, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        return model_input["a"].to_numpy() + self.offset

    # Attached after the class exists: mlflow inspects predict when a subclass is created and,
    # unless the hints are ones it validates, warns under a filter of its own that no test
    # filter can override (mlflow.utils.annotations.filter_user_warnings_once).
    MlflowStyle.predict = predict
    offset = tmp_path / "offset.txt"
    offset.write_text("0.5")
    example = pd.DataFrame({"a": [1.0, 2.0]})
    mlflow.pyfunc.save_model(
        str(tmp_path / "m"),
        python_model=MlflowStyle(),
        artifacts={"offset": str(offset)},
        input_example=example,
    )
    model = load_model(tmp_path / "m", allow_unverified=True)
    assert model.metadata.flavor == "python_model"
    assert model.predict(example).tolist() == [1.5, 2.5]


def test_signature_json_reads_the_same_in_both(mlflow: Any) -> None:
    from mlflow.models.signature import ModelSignature

    from dockyard.models import Signature, infer_signature

    frame = pd.DataFrame({"a": [1.0], "n": [2], "s": ["x"], "t": pd.to_datetime(["2024-01-01"])})
    ours = infer_signature(frame, np.zeros(2, dtype=np.float32), params={"k": 3, "tags": ["a"]})
    theirs = ModelSignature.from_dict(ours.to_dict())
    assert theirs.inputs.input_names() == ["a", "n", "s", "t"]
    assert [t.name for t in theirs.inputs.input_types()] == ["double", "long", "string", "datetime"]
    assert Signature.from_dict(theirs.to_dict()) == ours
