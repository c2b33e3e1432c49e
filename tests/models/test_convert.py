"""ONNX conversion: equivalent within the stated tolerance, recorded, or refused with a reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.base import BaseEstimator, ClassifierMixin

from dockyard.errors import InvalidArgument
from dockyard.models import DEFAULT_TOLERANCE, convert_to_onnx, save_model
from dockyard.models.flavors.python_model import PythonModel
from dockyard.models.pyfunc import load_model


@pytest.mark.parametrize("name", ["sklearn", "xgboost", "lightgbm"])
def test_classifiers_convert_and_predict_like_the_source(
    name: str, packages: dict[str, Path], frame: pd.DataFrame, tmp_path: Path
) -> None:
    info = convert_to_onnx(packages[name], tmp_path / "onnx", dataset=frame)
    assert info.flavor == "onnx"
    converted = load_model(tmp_path / "onnx")
    source = load_model(packages[name])
    np.testing.assert_array_equal(converted.predict(frame), source.predict(frame))
    assert converted.metadata.signature == source.metadata.signature
    record = yaml.safe_load((tmp_path / "onnx" / "MLmodel").read_text())["dockyard"]["conversion"]
    assert record["source_digest"] == source.metadata.digest
    assert record["rows_checked"] == len(frame)
    assert record["outputs_compared"] == ["label", "probabilities"]
    assert 0 <= record["max_abs_diff"] <= record["tolerance"] == DEFAULT_TOLERANCE


def test_regressor_keeps_the_source_output_shape(frame: pd.DataFrame, tmp_path: Path) -> None:
    import xgboost

    regressor = xgboost.XGBRegressor(n_estimators=5).fit(frame, frame["a"] * 2)
    save_model(regressor, tmp_path / "src", input_example=frame.head(5))
    convert_to_onnx(tmp_path / "src", tmp_path / "onnx")  # checked on the stored example
    converted = load_model(tmp_path / "onnx").predict(frame)
    assert converted.shape == (len(frame),)
    np.testing.assert_allclose(converted, regressor.predict(frame), atol=DEFAULT_TOLERANCE)


def test_difference_beyond_tolerance_is_refused_with_the_measure(
    packages: dict[str, Path], frame: pd.DataFrame, tmp_path: Path
) -> None:
    with pytest.raises(InvalidArgument, match="ONNX outputs differ from the source by") as caught:
        convert_to_onnx(packages["sklearn"], tmp_path / "onnx", dataset=frame, tolerance=1e-12)
    assert caught.value.details["max_abs_diff"] > 1e-12
    assert not (tmp_path / "onnx").exists()


class Unconvertible(ClassifierMixin, BaseEstimator):
    """A valid scikit-learn classifier no converter knows."""

    def fit(self, x: Any, y: Any) -> Unconvertible:
        self.classes_ = np.unique(y)
        return self

    def predict(self, x: Any) -> Any:
        return np.zeros(len(x), dtype=np.int64)


class Constant(PythonModel):
    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return np.zeros(len(model_input))


def test_refusals_give_the_reason(frame: pd.DataFrame, labels: Any, tmp_path: Path) -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    cases: list[tuple[Any, Any, str]] = [
        (Constant(), frame.head(3), "python_model models do not convert"),
        (Unconvertible().fit(frame, labels), frame.head(3), "Unconvertible"),
        (
            make_pipeline(
                make_column_transformer((OneHotEncoder(), ["s"]), remainder="passthrough"),
                LogisticRegression(),
            ).fit(frame.assign(s="x"), labels),
            frame.head(3).assign(s="x"),
            "non-numeric input columns s",
        ),
        (LogisticRegression().fit(frame, labels), None, "no input signature"),
    ]
    for index, (model, example, reason) in enumerate(cases):
        save_model(model, tmp_path / f"m{index}", input_example=example)
        with pytest.raises(InvalidArgument, match="cannot convert to ONNX") as caught:
            convert_to_onnx(tmp_path / f"m{index}", tmp_path / f"o{index}")
        assert reason in caught.value.message


def test_no_data_to_check_with_is_refused(frame: pd.DataFrame, labels: Any, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    from dockyard.models import infer_signature

    model = LogisticRegression().fit(frame, labels)
    save_model(model, tmp_path / "m", signature=infer_signature(frame))
    with pytest.raises(
        InvalidArgument, match="no dataset given and the package has no input example"
    ):
        convert_to_onnx(tmp_path / "m", tmp_path / "onnx")
    convert_to_onnx(tmp_path / "m", tmp_path / "onnx", dataset=frame.head(20))
    assert load_model(tmp_path / "onnx").input_example() is None
