from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.runtime.serving.conftest import FEATURES, rows

from dockyard.api.serving.config import VariantConfig
from dockyard.errors import ModelError
from dockyard.runtime.serving._inputs import Item
from dockyard.runtime.serving._metrics import VariantStats
from dockyard.runtime.serving._variant import Variant, load_variant


def load(path: Path, **options: object) -> Variant:
    config = VariantConfig.model_validate({"name": "v", "model_path": str(path), **options})
    return load_variant(config, VariantStats(), lambda: 0)


def test_xgboost_regressors_get_the_native_fast_predict(packages: dict[str, Path]) -> None:
    variant = load(packages["xgboost"], executor="thread")
    assert variant.native is not None
    data = np.asarray(rows(5))
    native = variant.native(data)
    packaged = variant.model.predict(pd.DataFrame(data, columns=FEATURES))
    np.testing.assert_array_equal(native, packaged)


def test_a_wrapped_regressor_is_served_through_its_booster(packages: dict[str, Path]) -> None:
    # The package's predictor answers from the Booster; the scikit-learn wrapper (and its
    # slower predict) is built only when something asks for the raw model.
    variant = load(packages["xgboost"], executor="thread")
    assert variant.native is not None
    predictor = variant.model._predictor
    assert type(predictor).__name__ == "WrapperPredictor"
    variant.native(np.asarray(rows(3)))
    assert predictor._wrapper is None


def test_models_fitted_on_named_columns_keep_the_package_predict(packages: dict[str, Path]) -> None:
    # scikit-learn warns when a model fitted on a DataFrame gets an array: never used natively.
    assert load(packages["sklearn"]).native is None
    assert load(packages["times10"]).native is None


@pytest.mark.parametrize(("budget", "executor"), [(10.0, "inline"), (0.0, "thread")])
def test_auto_executor_follows_the_measured_batch_time(
    packages: dict[str, Path], monkeypatch: pytest.MonkeyPatch, budget: float, executor: str
) -> None:
    monkeypatch.setattr("dockyard.runtime.serving._variant.INLINE_BUDGET_S", budget)
    assert load(packages["xgboost"]).describe()["executor"] == executor


def test_custom_models_always_get_a_thread(
    packages: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("dockyard.runtime.serving._variant.INLINE_BUDGET_S", 10.0)
    assert load(packages["times10"]).describe()["executor"] == "thread"
    shadow = load(packages["xgboost"], executor="inline", shadow=True, weight=0)
    assert shadow.describe()["executor"] == "thread"


def test_a_failing_merged_batch_is_rerun_one_request_at_a_time(packages: dict[str, Path]) -> None:
    variant = load(packages["fragile"], batching={"enabled": True})
    frames = [pd.DataFrame({"x": [float(v)]}) for v in (1, -1, 2)]
    outcomes = variant.run([Item(("frame", ("x",)), f, 1) for f in frames])
    assert [ok for ok, _ in outcomes] == [True, False, True]
    assert isinstance(outcomes[1][1], ModelError)
    assert outcomes[2][1].tolist() == [3.0]


def test_merged_results_split_back_by_rows(packages: dict[str, Path]) -> None:
    variant = load(packages["labeller"], batching={"enabled": True})
    frames = [pd.DataFrame({"x": [1.0, -1.0]}), pd.DataFrame({"x": [5.0]})]
    outcomes = variant.run([Item(("frame", ("x",)), f, len(f)) for f in frames])
    first, second = (value for _, value in outcomes)
    assert first["label"].tolist() == ["pos", "neg"] and second["double"].tolist() == [10.0]
