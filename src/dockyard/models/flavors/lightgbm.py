"""LightGBM flavor, in ``mlflow.lightgbm``'s layout.

A native ``Booster`` is saved in LightGBM's text format (``model.lgb``, no pickle); the
scikit-learn wrappers (``LGBMClassifier``...) are cloudpickled to ``model.pkl``, because that is
where they keep their label encoding and MLflow reads them so. An ``LGBMRegressor`` also gets
its booster in text (``booster.lgb``, named by ``booster_data``), and predicts through it, as
its own ``predict`` does, without importing scikit-learn; MLflow ignores the extra file.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dockyard.models._integrity import Opened
from dockyard.models._manifest import Manifest, inside
from dockyard.models.flavors import _pickle
from dockyard.models.flavors._base import (
    Flavor,
    MethodPredictor,
    Predictor,
    Saved,
    SaveOptions,
    from_library,
    is_data_frame,
)
from dockyard.models.flavors._imports import import_without

__all__ = ["BoosterPredictor", "LightGBMFlavor", "RegressorPredictor"]

_BOOSTER = "lightgbm.basic.Booster"
_REGRESSOR = "lightgbm.sklearn.LGBMRegressor"
_BOOSTER_FILE = "booster.lgb"
# LightGBM's prediction parameters and their aliases: a regressor made with any of them
# predicts otherwise than its booster alone, so it keeps predicting through the wrapper.
_PREDICT_PARAMS = frozenset(
    {
        "predict_raw_score",
        "raw_score",
        "predict_rawscore",
        "is_predict_raw_score",
        "predict_leaf_index",
        "leaf_index",
        "is_predict_leaf_index",
        "predict_contrib",
        "contrib",
        "is_predict_contrib",
        "predict_disable_shape_check",
        "pred_early_stop",
        "pred_early_stop_freq",
        "pred_early_stop_margin",
        "start_iteration_predict",
        "num_iteration_predict",
    }
)


class BoosterPredictor(MethodPredictor):
    """A native booster: ``Booster.predict`` reads an all-float array as the DataFrame of the
    same columns (categorical columns, the only ones it treats by name, are never floats)."""

    __slots__ = ()

    #: An array's columns are the signature's, in order (it has no names to check).
    takes_arrays = True


class RegressorPredictor:
    """An ``LGBMRegressor`` predicting through its booster, saved alongside it in text.

    The wrapper's ``predict`` is its booster's ``predict`` (up to the best iteration, which is
    where the saved booster ends; the thread count aside); this gives the same output without
    importing scikit-learn or the wrapper's input checks, and takes arrays. Calls with params
    (``raw_score``...), inputs other than arrays and DataFrames, and ``raw`` use the
    unpickled wrapper itself, loaded on first use.
    """

    __slots__ = ("_booster", "_lock", "_opened", "_wrapper")

    #: An array's columns are the signature's, in order (it has no names to check).
    takes_arrays = True

    def __init__(self, booster: Any, opened: Opened) -> None:
        self._booster = booster
        self._opened = opened
        self._wrapper: Any = None
        self._lock = threading.Lock()

    @property
    def raw(self) -> Any:
        """The scikit-learn model (unpickled, importing scikit-learn, on first use)."""
        with self._lock:
            if self._wrapper is None:
                self._wrapper = _load_pickle(self._opened)
            return self._wrapper

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        """Predict on a DataFrame or array."""
        if params or not (isinstance(data, np.ndarray) or is_data_frame(data)):
            return self.raw.predict(data, **params) if params else self.raw.predict(data)
        return self._booster.predict(data)


def _through_booster(model: Any) -> bool:
    """Whether ``model``'s ``predict`` is its booster's, so the booster may stand in for it."""
    import lightgbm

    if type(model) is not lightgbm.LGBMRegressor or getattr(model, "_Booster", None) is None:
        return False
    params = model.get_params()
    objective = params.get("objective")
    return (objective is None or isinstance(objective, str)) and not (_PREDICT_PARAMS & set(params))


def _load_pickle(opened: Opened) -> Any:
    conf = opened.manifest.flavors.get("lightgbm", {})
    fmt = str(conf.get("serialization_format", "cloudpickle"))
    trusted = conf.get("skops_trusted_types")
    return _pickle.load(opened, conf.get("data"), "flavors.lightgbm.data", fmt, trusted)


class LightGBMFlavor(Flavor):
    """LightGBM boosters and scikit-learn-API models."""

    name = "lightgbm"
    mlflow_loader = "mlflow.lightgbm"
    library = "lightgbm"
    version_key = "lgb_version"
    reads_older = True

    def accepts(self, model: Any) -> bool:
        return from_library(model, "lightgbm")

    def pickled(self, manifest_flavors: Mapping[str, Any]) -> bool:
        return str(manifest_flavors.get(self.name, {}).get("model_class", _BOOSTER)) != _BOOSTER

    def preload(self, manifest: Manifest, *, dedicated: bool = False) -> None:
        conf = manifest.flavors.get(self.name)
        native = (
            isinstance(conf, Mapping)
            and (conf.get("model_class", _BOOSTER) == _BOOSTER or _regressor(conf))
            # Params go to the unpickled wrapper, which needs scikit-learn.
            and not (manifest.signature is not None and manifest.signature.params)
        )
        if dedicated and native and "lightgbm" not in sys.modules:
            # LightGBM imports scikit-learn only for its wrappers, which a booster never uses.
            import_without("lightgbm", frozenset({"sklearn"}))
        else:
            super().preload(manifest, dedicated=dedicated)

    def save(self, model: Any, model_dir: Path, options: SaveOptions) -> Saved:
        import lightgbm

        cls = type(model)
        conf: dict[str, Any] = {
            "model_class": f"{cls.__module__}.{cls.__name__}",
            "lgb_version": lightgbm.__version__,
            "code": options.code,
        }
        if isinstance(model, lightgbm.Booster):
            conf["data"] = "model.lgb"
            model.save_model(str(model_dir / "model.lgb"))
            modules = frozenset({"lightgbm"})
        else:
            conf["data"] = "model.pkl"
            conf["serialization_format"] = "cloudpickle"
            modules = _pickle.dump(model, model_dir / "model.pkl") | {"lightgbm", "cloudpickle"}
            if _through_booster(model):
                # Without an iteration, LightGBM saves the trees up to the best one: those
                # the wrapper predicts with.
                model.booster_.save_model(str(model_dir / _BOOSTER_FILE))
                conf["booster_data"] = _BOOSTER_FILE
        pyfunc = {"loader_module": self.mlflow_loader, "data": conf["data"]}
        return Saved(conf, pyfunc, modules, MethodPredictor(model))

    def load(self, opened: Opened) -> Predictor:
        conf = opened.manifest.flavors.get(self.name, {})
        if conf.get("model_class", _BOOSTER) == _BOOSTER:
            import lightgbm

            path = inside(opened.path, conf.get("data"), "flavors.lightgbm.data")
            return BoosterPredictor(lightgbm.Booster(model_file=str(path)))
        if _regressor(conf):
            import lightgbm

            path = inside(opened.path, conf["booster_data"], "flavors.lightgbm.booster_data")
            return RegressorPredictor(lightgbm.Booster(model_file=str(path)), opened)
        return MethodPredictor(_load_pickle(opened))


def _regressor(conf: Mapping[str, Any]) -> bool:
    """Whether the package holds an ``LGBMRegressor`` with its booster saved alongside."""
    return conf.get("model_class") == _REGRESSOR and isinstance(conf.get("booster_data"), str)
