"""scikit-learn-API XGBoost and LightGBM models predict through their boosters exactly as the
wrappers' own ``predict`` does, and load without scikit-learn in a dedicated process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.models import flavors, save_model
from dockyard.models._integrity import open_package
from dockyard.models.pyfunc import load_model


def _data(rows: int, seed: int) -> pd.DataFrame:
    values = np.random.default_rng(seed).normal(size=(rows, 4))
    values[::17, 1] = np.nan  # missing values take the trees' default branches
    return pd.DataFrame(values, columns=["a", "b", "c", "d"])


@pytest.fixture(scope="module")
def train() -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    frame = _data(1200, 0)
    target = frame["a"].fillna(0) * 2 - frame["c"] + np.sin(frame["d"] * 3)
    return frame, target.to_numpy()


def _predictor(path: Path) -> Any:
    opened = open_package(path)
    return flavors.for_manifest(opened.manifest).load(opened)


def _assert_same(got: Any, expected: Any) -> None:
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_an_early_stopped_xgb_regressor_predicts_as_its_wrapper(
    tmp_path: Path, train: tuple[pd.DataFrame, np.ndarray[Any, Any]]
) -> None:
    import xgboost

    frame, target = train
    model = xgboost.XGBRegressor(n_estimators=300, max_depth=4, early_stopping_rounds=5)
    model.fit(frame[:900], target[:900], eval_set=[(frame[900:], target[900:])], verbose=False)
    assert 0 < model.best_iteration < 299  # the stop matters: all trees predict otherwise
    save_model(model, tmp_path / "m", input_example=frame.head(3))
    loaded = load_model(tmp_path / "m")
    test = _data(500, 1)
    assert type(_predictor(tmp_path / "m")).__name__ == "WrapperPredictor"
    expected = model.predict(test)
    _assert_same(loaded.predict(test), expected)
    _assert_same(loaded.predict(test.to_numpy()), expected)
    assert not np.array_equal(expected, model.get_booster().inplace_predict(test))  # all trees
    wrapper = loaded.unwrap()
    assert isinstance(wrapper, xgboost.XGBRegressor)
    _assert_same(wrapper.predict(test), expected)


@pytest.mark.parametrize(
    ("classes", "objective"),
    [(2, "binary:logistic"), (2, "binary:logitraw"), (3, "multi:softprob"), (3, "multi:softmax")],
)
def test_an_xgb_classifier_predicts_its_wrappers_class_indices(
    tmp_path: Path,
    train: tuple[pd.DataFrame, np.ndarray[Any, Any]],
    classes: int,
    objective: str,
) -> None:
    import xgboost

    frame, target = train
    labels = np.digitize(target, np.quantile(target, np.linspace(0, 1, classes + 1)[1:-1]))
    model = xgboost.XGBClassifier(n_estimators=20, max_depth=3, objective=objective)
    model.fit(frame, labels)
    save_model(model, tmp_path / "m", input_example=frame.head(3))
    predictor = _predictor(tmp_path / "m")
    assert type(predictor).__name__ == "WrapperPredictor"
    test = _data(400, 2)
    expected = model.predict(test)
    assert len(set(expected.tolist())) == classes
    _assert_same(load_model(tmp_path / "m").predict(test.to_numpy()), expected)
    _assert_same(predictor.predict(test, None), expected)
    # Params are the wrapper's keywords: they go to the wrapper itself.
    margins = predictor.predict(test, {"output_margin": True})
    _assert_same(margins, model.predict(test, output_margin=True))


def test_a_linear_xgb_regressor_keeps_its_wrapper(
    tmp_path: Path, train: tuple[pd.DataFrame, np.ndarray[Any, Any]]
) -> None:
    import xgboost

    frame, target = train
    model = xgboost.XGBRegressor(booster="gblinear", n_estimators=10).fit(frame, target)
    save_model(model, tmp_path / "m", input_example=frame.head(3))
    assert type(_predictor(tmp_path / "m")).__name__ == "MethodPredictor"
    test = _data(50, 3)
    _assert_same(load_model(tmp_path / "m").predict(test), model.predict(test))


def test_an_early_stopped_lgbm_regressor_predicts_through_its_saved_booster(
    tmp_path: Path, train: tuple[pd.DataFrame, np.ndarray[Any, Any]]
) -> None:
    import lightgbm

    frame, target = train
    model = lightgbm.LGBMRegressor(n_estimators=400, num_leaves=15, verbose=-1)
    stop = [lightgbm.early_stopping(5, verbose=False)]
    model.fit(
        frame[:900], target[:900], eval_X=(frame[900:],), eval_y=(target[900:],), callbacks=stop
    )
    assert 0 < model.best_iteration_ < 400
    save_model(model, tmp_path / "m", input_example=frame.head(3))
    assert (tmp_path / "m" / "booster.lgb").read_text().startswith("tree")
    assert type(_predictor(tmp_path / "m")).__name__ == "RegressorPredictor"
    loaded = load_model(tmp_path / "m")
    test = _data(500, 4)
    expected = model.predict(test)
    _assert_same(loaded.predict(test), expected)
    _assert_same(loaded.predict(test.to_numpy()), expected)
    saved = lightgbm.Booster(model_file=str(tmp_path / "m" / "booster.lgb"))
    assert saved.num_trees() == model.best_iteration_  # the trees the wrapper predicts with
    wrapper = loaded.unwrap()
    assert isinstance(wrapper, lightgbm.LGBMRegressor)
    _assert_same(wrapper.predict(test), expected)


@pytest.mark.parametrize(
    "kind", ["classifier", "prediction param", "callable objective", "subclass"]
)
def test_other_lgbm_wrappers_keep_predicting_through_the_wrapper(
    tmp_path: Path, train: tuple[pd.DataFrame, np.ndarray[Any, Any]], kind: str
) -> None:
    import lightgbm

    frame, target = train

    def squared(y: Any, predicted: Any) -> tuple[Any, Any]:
        return predicted - y, np.ones_like(y)

    class Regressor(lightgbm.LGBMRegressor):
        pass

    model, labels = {
        "classifier": (lightgbm.LGBMClassifier(n_estimators=10), target > 0),
        "prediction param": (lightgbm.LGBMRegressor(n_estimators=10, pred_early_stop=True), target),
        "callable objective": (lightgbm.LGBMRegressor(n_estimators=10, objective=squared), target),
        "subclass": (Regressor(n_estimators=10), target),
    }[kind]
    model.set_params(verbose=-1).fit(frame, labels)
    save_model(model, tmp_path / "m", input_example=frame.head(3))
    assert not (tmp_path / "m" / "booster.lgb").exists()
    assert type(_predictor(tmp_path / "m")).__name__ == "MethodPredictor"
    test = _data(50, 5)
    _assert_same(load_model(tmp_path / "m").predict(test), model.predict(test))


_DEDICATED = """
import json, sys
import numpy as np
from dockyard.models import load_model
from dockyard.models.pyfunc import preload_libraries
preload_libraries(sys.argv[1], dedicated=True)
model = load_model(sys.argv[1])
prediction = model.predict(np.zeros((2, 4))).tolist()
print(json.dumps({"sklearn": "sklearn" in sys.modules, "prediction": prediction}))
"""


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_a_dedicated_process_predicts_a_wrapped_regressor_without_scikit_learn(
    tmp_path: Path, train: tuple[pd.DataFrame, np.ndarray[Any, Any]], library: str
) -> None:
    import lightgbm
    import xgboost

    frame, target = train
    model = (
        xgboost.XGBRegressor(n_estimators=20)
        if library == "xgboost"
        else lightgbm.LGBMRegressor(n_estimators=20, verbose=-1)
    ).fit(frame, target)
    save_model(model, tmp_path / "m", input_example=frame.head(3))
    argv = [sys.executable, "-c", _DEDICATED, str(tmp_path / "m")]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    expected = model.predict(pd.DataFrame(np.zeros((2, 4)), columns=frame.columns)).tolist()
    assert json.loads(done.stdout) == {"sklearn": False, "prediction": expected}


def test_a_lightgbm_booster_predicts_arrays_as_their_frames(
    tmp_path: Path, train: tuple[pd.DataFrame, np.ndarray[Any, Any]]
) -> None:
    import lightgbm

    frame, target = train
    booster = lightgbm.train(
        {"num_leaves": 7, "verbose": -1}, lightgbm.Dataset(frame, target), num_boost_round=20
    )
    save_model(booster, tmp_path / "m", input_example=frame.head(3))
    predictor = _predictor(tmp_path / "m")
    assert predictor.takes_arrays
    test = _data(300, 6)
    expected = booster.predict(test)
    _assert_same(load_model(tmp_path / "m").predict(test.to_numpy()), expected)
    _assert_same(predictor.predict(test.to_numpy(), None), expected)
