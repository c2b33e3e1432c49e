"""XGBoost flavor: the model in XGBoost's UBJSON format (no pickle), as ``mlflow.xgboost`` reads.

Both the native ``Booster`` and the scikit-learn wrappers (``XGBClassifier``...) are saved; the
manifest's ``model_class`` says which to rebuild, and only XGBoost's own classes are accepted
there, since the manifest is not trusted to name code. An ``XGBRegressor`` or ``XGBClassifier``
predicts through its Booster, as its own ``predict`` does, without importing scikit-learn.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dockyard.errors import InvalidArgument
from dockyard.models._integrity import Opened
from dockyard.models._manifest import Manifest, inside
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
# The wrappers whose predict is their Booster's in-place predict (and, for the classifier, a
# threshold or argmax): these predict through the Booster without scikit-learn.
_THROUGH_BOOSTER = frozenset({"XGBRegressor", "XGBClassifier"})


def _unlabelled(data: Any, names: list[str] | None) -> Any:
    """``data`` as an array when it is a frame with pandas' default column labels (headerless
    CSV, rows of a JSON list) and the Booster was trained under other feature names.

    XGBoost checks a frame's labels (as text: ``0``, ``1``...) against the Booster's names, so
    a Booster trained on ``df.iloc[:, 1:]`` (names ``1``, ``2``...) refused every headerless
    request. Such columns carry no names, only positions, which is how SageMaker's XGBoost
    container scores them (``validate_features=False``): the values go as an array, which
    XGBoost takes by position. Frames with real column names are left to XGBoost's check.
    """
    if names is None or not is_data_frame(data):
        return data
    columns = data.columns
    width = len(columns)
    if width != len(names) or columns.dtype.kind not in "iu":
        return data
    if columns.tolist() != list(range(width)) or [str(c) for c in columns] == names:
        return data
    return data.to_numpy()


class BoosterPredictor:
    """A native Booster: arrays and DataFrames go to ``inplace_predict``, the rest to a DMatrix.

    ``inplace_predict`` reads the data where it is (a DMatrix copies it first: ~9% of the
    predict time for 10 float features) and gives the same output, missing values included;
    feature names are checked against the Booster's either way. Params are
    ``Booster.predict``'s keywords, so a call with params takes the DMatrix path.
    """

    __slots__ = ("_names", "_xgb", "raw")

    #: An array's columns are the signature's, in order (it has no names to check).
    takes_arrays = True

    def __init__(self, raw: Any) -> None:
        import xgboost

        self.raw = raw
        self._xgb = xgboost
        self._names: list[str] | None = raw.feature_names

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        """Predict on a DataFrame or array."""
        data = _unlabelled(data, self._names)
        if not params and (isinstance(data, np.ndarray) or is_data_frame(data)):
            return self.raw.inplace_predict(data)
        matrix = self._xgb.DMatrix(data)
        return self.raw.predict(matrix, **params) if params else self.raw.predict(matrix)


class WrapperPredictor:
    """An ``XGBRegressor`` or ``XGBClassifier`` predicting through its Booster, as it would.

    A loaded wrapper's ``predict`` is its Booster's ``inplace_predict`` over the trees up to
    the best iteration (missing values are NaN: ``missing`` is not saved with the model), and
    a classifier turns that into class indices (XGBoost 2+ keeps no label encoder). Doing the
    same here gives the same output without importing scikit-learn (with SciPy and pandas,
    1.2 s per process) and without the wrapper's per-call overhead, and takes arrays. Calls
    with params (``output_margin``...), inputs other than arrays and DataFrames, and ``raw``
    use the wrapper itself, built from the same Booster on first use.
    """

    __slots__ = (
        "_booster",
        "_class_name",
        "_classifier",
        "_lock",
        "_names",
        "_range",
        "_wrapper",
    )

    #: An array's columns are the signature's, in order (it has no names to check).
    takes_arrays = True

    def __init__(self, booster: Any, class_name: str) -> None:
        self._booster = booster
        self._names: list[str] | None = booster.feature_names
        self._class_name = class_name
        best = booster.attr("best_iteration")
        self._range = (0, int(best) + 1) if best is not None else (0, 0)
        self._classifier: tuple[int, str] | None = None
        if class_name == "XGBClassifier":
            learner = json.loads(booster.save_config())["learner"]
            classes = int(learner["learner_model_param"]["num_class"])
            self._classifier = (max(classes, 2), str(learner["objective"]["name"]))
        self._wrapper: Any = None
        self._lock = threading.Lock()

    @property
    def raw(self) -> Any:
        """The scikit-learn model (importing scikit-learn on first use)."""
        with self._lock:
            if self._wrapper is None:
                import xgboost

                wrapper = getattr(xgboost, self._class_name)()
                wrapper.load_model(self._booster.save_raw(raw_format="ubj"))
                self._wrapper = wrapper
            return self._wrapper

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        """Predict on a DataFrame or array."""
        data = _unlabelled(data, self._names)
        if params or not (isinstance(data, np.ndarray) or is_data_frame(data)):
            return self.raw.predict(data, **params) if params else self.raw.predict(data)
        values = self._booster.inplace_predict(data, iteration_range=self._range)
        if self._classifier is None:
            return values
        return _class_indices(values, *self._classifier)


def _class_indices(probabilities: Any, classes: int, objective: str) -> Any:
    """What ``XGBClassifier.predict`` makes of its Booster's output (XGBoost 2 and 3)."""
    if probabilities.ndim > 1 and classes != 2:
        return np.argmax(probabilities, axis=1)
    if probabilities.ndim > 1 and probabilities.shape[1] != 1:  # multi-label
        labels = np.zeros(probabilities.shape)
        labels[probabilities > 0.5] = 1
        return labels
    if objective == "multi:softmax":
        return probabilities.astype(np.int32)
    indices = np.repeat(0, probabilities.shape[0])
    indices[probabilities > 0.5] = 1
    return indices


def _predicts_in_place(booster: Any) -> bool:
    """Whether the wrapper of ``booster`` predicts as :class:`WrapperPredictor` does.

    A linear booster predicts through a DMatrix with every iteration, and XGBoost releases
    other than 2 and 3 may predict otherwise: those keep the wrapper.
    """
    import xgboost

    if str(xgboost.__version__).partition(".")[0] not in {"2", "3"}:
        return False
    learner = json.loads(booster.save_config())["learner"]
    return str(learner["gradient_booster"]["name"]) in {"gbtree", "dart"}


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

    def preload(self, manifest: Manifest, *, dedicated: bool = False) -> None:
        conf = manifest.flavors.get(self.name)
        model_class = str(conf.get("model_class", "")) if isinstance(conf, Mapping) else ""
        native = model_class == _BOOSTER or (
            # A wrapper predicts through its Booster unless a call passes params, which go to
            # the wrapper itself (and it needs scikit-learn).
            model_class.rpartition(".")[2] in _THROUGH_BOOSTER
            and not (manifest.signature is not None and manifest.signature.params)
        )
        if dedicated and native and "xgboost" not in sys.modules:
            # XGBoost imports scikit-learn (and with it SciPy and pandas) only for its
            # scikit-learn wrappers, which predicting through a Booster never uses.
            import_without("xgboost", frozenset({"sklearn"}))
        else:
            super().preload(manifest, dedicated=dedicated)

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
        path = inside(opened.path, conf.get("data"), "flavors.xgboost.data")
        if class_name in _THROUGH_BOOSTER:
            booster = xgboost.Booster()
            booster.load_model(str(path))
            if _predicts_in_place(booster):
                return WrapperPredictor(booster, class_name)
        model = getattr(xgboost, class_name)()
        model.load_model(str(path))
        return _wrap(model)


def _wrap(model: Any) -> Predictor:
    import xgboost

    return BoosterPredictor(model) if isinstance(model, xgboost.Booster) else MethodPredictor(model)
