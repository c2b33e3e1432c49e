"""Custom Python models the serving tests deploy (pickled by value, so workers need no import)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from dockyard.models.flavors.python_model import PythonModel


class Times10(PythonModel):
    """``y = 10 * x``, one value per row: results show which request a row came from."""

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        time.sleep(0.002)  # long enough for concurrent requests to queue behind a batch
        return model_input["x"].to_numpy() * 10


class Sleeper(PythonModel):
    """Sleeps ``seconds`` (a param) before answering."""

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        time.sleep(float((params or {}).get("seconds", 0.0)))
        return model_input["x"].to_numpy()


class Fragile(PythonModel):
    """Fails on negative inputs, with a message that must not become a stack trace."""

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        values = model_input["x"].to_numpy()
        if (values < 0).any():
            raise ValueError("negative input reached the model")
        return values + 1


class Labeller(PythonModel):
    """Two named outputs per row (a DataFrame), to exercise multi-output encodings."""

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        x = model_input["x"].to_numpy()
        return pd.DataFrame({"double": x * 2, "label": np.where(x > 0, "pos", "neg")})
