"""A small saved package, and a run holding it, for the registry's API and client tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dockyard.client.http import Client
from dockyard.models import save_model


@pytest.fixture(scope="session")
def registry_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame({"a": rng.random(20), "b": rng.random(20)})


@pytest.fixture(scope="session")
def registry_package(
    tmp_path_factory: pytest.TempPathFactory, registry_frame: pd.DataFrame
) -> Path:
    from sklearn.linear_model import LinearRegression

    frame = registry_frame
    path = tmp_path_factory.mktemp("registry-pkg") / "model"
    estimator = LinearRegression().fit(frame, frame["a"] * 2 + frame["b"])
    save_model(estimator, path, input_example=frame.head(3))
    return path


@pytest.fixture
def log_package(api: Client, registry_package: Path) -> Callable[..., str]:
    """Log a package into a new run (``model/`` by default); returns the run id."""

    def log(package: Path = registry_package, path: str = "model") -> str:
        run_id: str = api.request("POST", "/api/v1/runs", json={})["info"]["run_id"]
        for file in sorted(package.rglob("*")):
            if file.is_file():
                rel = f"{path}/{file.relative_to(package).as_posix()}"
                url = f"/api/v1/runs/{run_id}/artifacts/{rel}"
                api.request("PUT", url, content=file.read_bytes())
        return run_id

    return log
