"""XGBoost flavor: the model in XGBoost's UBJSON format (no pickle), as ``mlflow.xgboost`` reads.

Both the native ``Booster`` and the scikit-learn wrappers (``XGBClassifier``...) are saved; the
manifest's ``model_class`` says which to rebuild, and only XGBoost's own classes are accepted
there, since the manifest is not trusted to name code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
)

__all__ = ["XGBoostFlavor"]

_FILE = "model.ubj"
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
    """A native Booster: wraps the batch in a DMatrix, as the native API requires."""

    __slots__ = ("_xgb", "raw")

    def __init__(self, raw: Any) -> None:
        import xgboost

        self.raw = raw
        self._xgb = xgboost

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        """Predict on a DataFrame or array."""
        matrix = self._xgb.DMatrix(data)
        return self.raw.predict(matrix, **params) if params else self.raw.predict(matrix)


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
        model_class = str(conf.get("model_class", "xgboost.core.Booster"))
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
