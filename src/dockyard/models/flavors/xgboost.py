"""XGBoost flavor: the model in XGBoost's UBJSON format (no pickle), as ``mlflow.xgboost`` reads.

Both the native ``Booster`` and the scikit-learn wrappers (``XGBClassifier``...) are saved; the
manifest's ``model_class`` says which to rebuild, and only XGBoost's own classes are accepted
there, since the manifest is not trusted to name code.
"""

from __future__ import annotations

import importlib
import importlib.abc
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dockyard.errors import InvalidArgument
from dockyard.models._integrity import Opened
from dockyard.models._manifest import inside
from dockyard.models.flavors._base import (
    Flavor,
    MethodPredictor,
    Predictor,
    Saved,
    SaveOptions,
    from_library,
    is_data_frame,
)

__all__ = ["XGBoostFlavor"]

_FILE = "model.ubj"
_BOOSTER = "xgboost.core.Booster"
_CLASSES = frozenset(
    {
        "Booster",
        "XGBModel",
        "XGBClassifier",
        "XGBRegressor",
        "XGBRanker",
        "XGBRFClassifier",
        "XGBRFRegressor",
    }
)


class BoosterPredictor:
    """A native Booster: arrays and DataFrames go to ``inplace_predict``, the rest to a DMatrix.

    ``inplace_predict`` reads the data where it is (a DMatrix copies it first: ~9% of the
    predict time for 10 float features) and gives the same output, missing values included;
    feature names are checked against the Booster's either way. Params are
    ``Booster.predict``'s keywords, so a call with params takes the DMatrix path.
    """

    __slots__ = ("_xgb", "raw")

    #: An array's columns are the signature's, in order (it has no names to check).
    takes_arrays = True

    def __init__(self, raw: Any) -> None:
        import xgboost

        self.raw = raw
        self._xgb = xgboost

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        """Predict on a DataFrame or array."""
        if not params and (isinstance(data, np.ndarray) or is_data_frame(data)):
            return self.raw.inplace_predict(data)
        matrix = self._xgb.DMatrix(data)
        return self.raw.predict(matrix, **params) if params else self.raw.predict(matrix)


class _Refused(importlib.abc.MetaPathFinder):
    """Makes importing the named top-level packages fail, as if they were not installed."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"{fullname} is left out of this process", name=fullname)


def _import_without(module: str, left_out: frozenset[str]) -> None:
    """Import ``module`` while ``left_out`` cannot be imported (unless already imported)."""
    refused = _Refused(frozenset(name for name in left_out if name not in sys.modules))
    sys.meta_path.insert(0, refused)
    try:
        importlib.import_module(module)
    finally:
        sys.meta_path.remove(refused)


class XGBoostFlavor(Flavor):
    """XGBoost boosters and scikit-learn-API models."""

    name = "xgboost"
    mlflow_loader = "mlflow.xgboost"
    library = "xgboost"
    version_key = "xgb_version"
    reads_older = True

    def accepts(self, model: Any) -> bool:
        return from_library(model, "xgboost")

    def pickled(self, manifest_flavors: Any) -> bool:
        return False

    def preload(self, manifest_flavors: Mapping[str, Any], *, dedicated: bool = False) -> None:
        conf = manifest_flavors.get(self.name)
        booster = isinstance(conf, Mapping) and conf.get("model_class") == _BOOSTER
        if dedicated and booster and "xgboost" not in sys.modules:
            # XGBoost imports scikit-learn (and with it SciPy and pandas) only for its
            # scikit-learn wrappers, which a native Booster never uses.
            _import_without("xgboost", frozenset({"sklearn"}))
        else:
            super().preload(manifest_flavors, dedicated=dedicated)

    def save(self, model: Any, model_dir: Path, options: SaveOptions) -> Saved:
        import xgboost

        cls = type(model)
        if cls.__name__ not in _CLASSES:
            raise InvalidArgument(f"cannot save {cls.__name__} with the xgboost flavor")
        model.save_model(str(model_dir / _FILE))
        conf = {
            "data": _FILE,
            "model_class": f"{cls.__module__}.{cls.__name__}",
            "model_format": "ubj",
            "xgb_version": xgboost.__version__,
            "code": options.code,
        }
        modules = {"xgboost"} if isinstance(model, xgboost.Booster) else {"xgboost", "sklearn"}
        pyfunc = {"loader_module": self.mlflow_loader, "data": _FILE}
        return Saved(conf, pyfunc, frozenset(modules), _wrap(model))

    def load(self, opened: Opened) -> Predictor:
        import xgboost

        conf = opened.manifest.flavors.get(self.name, {})
        model_class = str(conf.get("model_class", _BOOSTER))
        module, _, class_name = model_class.rpartition(".")
        if not module.startswith("xgboost") or class_name not in _CLASSES:
            raise InvalidArgument(
                f"flavors.xgboost.model_class: {model_class!r} is not an XGBoost model class",
                field="flavors.xgboost.model_class",
            )
        model = getattr(xgboost, class_name)()
        model.load_model(str(inside(opened.path, conf.get("data"), "flavors.xgboost.data")))
        return _wrap(model)


def _wrap(model: Any) -> Predictor:
    import xgboost

    return BoosterPredictor(model) if isinstance(model, xgboost.Booster) else MethodPredictor(model)
