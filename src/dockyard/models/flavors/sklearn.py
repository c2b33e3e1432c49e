"""scikit-learn flavor: the estimator cloudpickled to ``model.pkl``, as ``mlflow.sklearn`` reads it.

Packages written by MLflow in its ``pickle``, ``cloudpickle`` or ``skops`` formats load too
(``skops`` needs the ``skops`` package in the environment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.models._integrity import Opened
from dockyard.models.flavors import _pickle
from dockyard.models.flavors._base import (
    Flavor,
    MethodPredictor,
    Predictor,
    Saved,
    SaveOptions,
    from_library,
)

__all__ = ["SklearnFlavor"]

_FILE = "model.pkl"
# The predict functions MLflow lets a package name; anything else in the manifest is refused.
_PREDICT_FNS = frozenset(
    {"predict", "predict_proba", "predict_log_proba", "predict_joint_log_proba", "score"}
)


class SklearnFlavor(Flavor):
    """scikit-learn estimators and pipelines."""

    name = "sklearn"
    mlflow_loader = "mlflow.sklearn"
    library = "sklearn"
    version_key = "sklearn_version"
    same_minor = True

    def accepts(self, model: Any) -> bool:
        return from_library(model, "sklearn")

    def save(self, model: Any, model_dir: Path, options: SaveOptions) -> Saved:
        import sklearn

        if not callable(getattr(model, "predict", None)):
            raise InvalidArgument(f"{type(model).__name__} has no predict method")
        modules = _pickle.dump(model, model_dir / _FILE)
        conf = {
            "pickled_model": _FILE,
            "serialization_format": "cloudpickle",
            "sklearn_version": sklearn.__version__,
            "code": options.code,
        }
        pyfunc = {"loader_module": self.mlflow_loader, "model_path": _FILE, "predict_fn": "predict"}
        return Saved(conf, pyfunc, modules | {"sklearn", "cloudpickle"}, MethodPredictor(model))

    def load(self, opened: Opened) -> Predictor:
        manifest = opened.manifest
        conf = manifest.flavors.get(self.name, {})
        name = conf.get("pickled_model") or manifest.python_function.get("model_path")
        model = _pickle.load(
            opened,
            name,
            "flavors.sklearn.pickled_model",
            str(conf.get("serialization_format", "pickle")),
            conf.get("skops_trusted_types"),
        )
        method = manifest.python_function.get("predict_fn", "predict")
        if method not in _PREDICT_FNS:
            raise InvalidArgument(
                f"flavors.python_function.predict_fn: {method!r} is not one of "
                f"{', '.join(sorted(_PREDICT_FNS))}",
                field="flavors.python_function.predict_fn",
            )
        return MethodPredictor(model, method)
