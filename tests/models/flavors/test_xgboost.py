"""XGBoost models trained on a frame sliced by position (``df.iloc[:, 1:]``, feature names
``1``, ``2``, ...) score headerless rows by position, as SageMaker's XGBoost container scores
them; rows that do carry names are still checked against the model's."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from dockyard.errors import ModelError
from dockyard.models import save_model
from dockyard.models.pyfunc import load_model

ROWS = np.random.default_rng(0).normal(size=(40, 3))


def _labelled() -> pd.DataFrame:
    """Training data as SageMaker scripts read it: label first, no header."""
    frame = pd.DataFrame(np.column_stack([ROWS @ [3.0, -2.0, 0.5], ROWS]))
    return frame


@pytest.mark.parametrize("kind", ["booster", "regressor"])
def test_headerless_rows_score_by_position(tmp_path: Path, kind: str) -> None:
    frame = _labelled()
    features, label = frame.iloc[:, 1:], frame.iloc[:, 0]
    if kind == "booster":
        model = xgb.train({"max_depth": 2}, xgb.DMatrix(features, label=label), 5)
        expected = model.predict(xgb.DMatrix(ROWS), validate_features=False)
    else:
        model = xgb.XGBRegressor(n_estimators=5, max_depth=2).fit(features, label)
        expected = model.get_booster().predict(xgb.DMatrix(ROWS), validate_features=False)
    assert model.feature_names if kind == "booster" else model.get_booster().feature_names
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    headerless = pd.read_csv(
        io.StringIO("\n".join(",".join(map(str, r)) for r in ROWS)), header=None
    )
    np.testing.assert_allclose(loaded.predict(headerless), expected, rtol=1e-6)
    np.testing.assert_allclose(loaded.predict(ROWS.tolist()), expected, rtol=1e-6)
    with pytest.raises(ModelError, match="feature_names mismatch"):
        loaded.predict(pd.DataFrame(ROWS, columns=["a", "b", "c"]))
