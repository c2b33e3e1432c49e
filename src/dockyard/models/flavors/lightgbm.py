"""LightGBM flavor, in ``mlflow.lightgbm``'s layout.

A native ``Booster`` is saved in LightGBM's text format (``model.lgb``, no pickle); the
scikit-learn wrappers (``LGBMClassifier``...) are cloudpickled to ``model.pkl``, because that is
where they keep their label encoding and MLflow reads them so.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dockyard.models._integrity import Opened
from dockyard.models._manifest import inside
from dockyard.models.flavors import _pickle
from dockyard.models.flavors._base import (
    Flavor,
    MethodPredictor,
    Predictor,
    Saved,
    SaveOptions,
    from_library,
)

__all__ = ["LightGBMFlavor"]

_BOOSTER = "lightgbm.basic.Booster"


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
        pyfunc = {"loader_module": self.mlflow_loader, "data": conf["data"]}
        return Saved(conf, pyfunc, modules, MethodPredictor(model))

    def load(self, opened: Opened) -> Predictor:
        conf = opened.manifest.flavors.get(self.name, {})
        if conf.get("model_class", _BOOSTER) == _BOOSTER:
            import lightgbm

            path = inside(opened.path, conf.get("data"), "flavors.lightgbm.data")
            return MethodPredictor(lightgbm.Booster(model_file=str(path)))
        fmt = str(conf.get("serialization_format", "cloudpickle"))
        trusted = conf.get("skops_trusted_types")
        field = "flavors.lightgbm.data"
        return MethodPredictor(_pickle.load(opened, conf.get("data"), field, fmt, trusted))
