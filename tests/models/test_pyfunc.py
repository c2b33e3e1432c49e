"""PyFuncModel: input forms, metadata, no-copy fast path, model errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.errors import InvalidArgument, ModelError
from dockyard.models import save_model
from dockyard.models.flavors.python_model import PythonModel
from dockyard.models.pyfunc import load_model


def test_metadata(packages: dict[str, Path], sklearn_model: Any) -> None:
    import sklearn

    meta = load_model(packages["sklearn"]).metadata
    assert meta.flavor == "sklearn"
    assert meta.library_version == sklearn.__version__
    assert meta.verified
    assert meta.digest.startswith("sha256:")
    assert len(meta.model_uuid or "") == 32
    assert meta.signature is not None and meta.signature.inputs is not None
    assert [c.name for c in meta.signature.inputs.columns] == ["a", "b", "c"]
    assert f"scikit-learn=={sklearn.__version__}" in meta.requirements


def test_every_input_form_gives_the_same_prediction(
    packages: dict[str, Path], frame: pd.DataFrame
) -> None:
    model = load_model(packages["xgboost"])
    rows = frame.head(4)
    expected = model.predict(rows)
    forms = [
        rows.to_dict(orient="records"),
        rows.to_dict(orient="list"),
        rows.to_numpy(dtype=object),  # keeps each value's own type
        rows[["c", "b", "a"]],  # other column order
        rows.assign(extra="ignored"),
    ]
    for form in forms:
        np.testing.assert_array_equal(model.predict(form), expected)
    with pytest.raises(InvalidArgument, match="column 'b': expected long, received double"):
        model.predict(rows.to_numpy())  # a float matrix: the integers arrive as floats
    single = frame.iloc[0].to_dict()
    single["b"] = int(single["b"])
    np.testing.assert_array_equal(model.predict(single), expected[:1])


def test_stored_example_comes_back_typed(packages: dict[str, Path], frame: pd.DataFrame) -> None:
    example = load_model(packages["sklearn"]).input_example()
    pd.testing.assert_frame_equal(example, frame.head(5).reset_index(drop=True))


class Recorder(PythonModel):
    """Remembers the object it was given, to see whether the wrapper copied the input."""

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        self.seen = model_input
        if "boom" in model_input.columns:
            raise RuntimeError("model exploded")
        return np.zeros(len(model_input))


def test_matching_frame_reaches_the_model_uncopied(tmp_path: Path) -> None:
    example = pd.DataFrame({"a": [1.0], "s": ["x"]})
    save_model(Recorder(), tmp_path / "m", input_example=example)
    model = load_model(tmp_path / "m")
    data = pd.DataFrame({"a": [1.0, 2.0], "s": ["x", "y"]})
    model.predict(data)
    assert model.unwrap().seen is data
    model.predict(data[["s", "a"]])
    assert model.unwrap().seen is not data  # reordered: a new frame in signature order


def test_model_failures_become_model_errors(tmp_path: Path) -> None:
    save_model(Recorder(), tmp_path / "m")  # no signature: input passes through
    model = load_model(tmp_path / "m")
    with pytest.raises(ModelError, match="python_model model failed: model exploded"):
        model.predict(pd.DataFrame({"boom": [1]}))
