"""Small trained models and saved packages shared by the model-package tests.

Training and saving happen once per session; tests that change a package get a fresh copy.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dockyard.models import save_model


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    """Features of three types: float, integer, float."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "a": rng.random(300),
            "b": rng.integers(0, 10, 300),
            "c": rng.normal(size=300),
        }
    )


@pytest.fixture(scope="session")
def labels(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    return ((frame["a"] + frame["b"] / 10) > 0.9).to_numpy().astype(np.int64)


@pytest.fixture(scope="session")
def sklearn_model(frame: pd.DataFrame, labels: np.ndarray[Any, Any]) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(frame, labels)


@pytest.fixture(scope="session")
def xgb_model(frame: pd.DataFrame, labels: np.ndarray[Any, Any]) -> Any:
    import xgboost

    return xgboost.XGBClassifier(n_estimators=10, max_depth=3).fit(frame, labels)


@pytest.fixture(scope="session")
def lgbm_model(frame: pd.DataFrame, labels: np.ndarray[Any, Any]) -> Any:
    import lightgbm

    return lightgbm.LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(frame, labels)


@pytest.fixture(scope="session")
def packages(
    tmp_path_factory: pytest.TempPathFactory,
    frame: pd.DataFrame,
    sklearn_model: Any,
    xgb_model: Any,
    lgbm_model: Any,
) -> dict[str, Path]:
    """Packages saved once per session; never modify them (use ``package_copy``)."""
    root = tmp_path_factory.mktemp("packages")
    models = {"sklearn": sklearn_model, "xgboost": xgb_model, "lightgbm": lgbm_model}
    for name, model in models.items():
        save_model(model, root / name, input_example=frame.head(5))
    return {name: root / name for name in models}


@pytest.fixture
def package_copy(packages: dict[str, Path], tmp_path: Path) -> Callable[[str], Path]:
    """A private copy of a session package, free to tamper with."""

    def copy(name: str) -> Path:
        target = tmp_path / f"copy-{name}"
        shutil.copytree(packages[name], target)
        return target

    return copy
