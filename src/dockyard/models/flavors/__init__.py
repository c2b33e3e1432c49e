"""The flavor table: which flavor saves an object, and which loads a package.

Loading dispatches on the manifest: ``python_function.loader_module`` (MLflow's loaders are
mapped to Dockyard's flavors; nothing named in a manifest is ever imported), else the first
flavor section Dockyard knows.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.models._manifest import Manifest
from dockyard.models.flavors._base import Flavor, Predictor, Saved, SaveOptions
from dockyard.models.flavors.lightgbm import LightGBMFlavor
from dockyard.models.flavors.onnx import OnnxFlavor
from dockyard.models.flavors.python_model import (
    MLFLOW_LOADER,
    PythonModel,
    PythonModelContext,
    PythonModelFlavor,
)
from dockyard.models.flavors.pytorch import PyTorchFlavor
from dockyard.models.flavors.sagemaker_script import SageMakerScriptFlavor
from dockyard.models.flavors.sklearn import SklearnFlavor
from dockyard.models.flavors.xgboost import XGBoostFlavor

__all__ = [
    "FLAVORS",
    "Flavor",
    "Predictor",
    "PythonModel",
    "PythonModelContext",
    "SaveOptions",
    "Saved",
    "detect",
    "for_manifest",
    "get",
]

# Detection order matters: XGBoost and LightGBM models are scikit-learn estimators too.
FLAVORS: MappingProxyType[str, Flavor] = MappingProxyType(
    {
        flavor.name: flavor
        for flavor in (
            PythonModelFlavor(),
            XGBoostFlavor(),
            LightGBMFlavor(),
            OnnxFlavor(),
            PyTorchFlavor(),
            SklearnFlavor(),
            SageMakerScriptFlavor(),
        )
    }
)
_LOADERS = MappingProxyType(
    {
        **{flavor.mlflow_loader: name for name, flavor in FLAVORS.items()},
        MLFLOW_LOADER: "python_model",
    }
)


def get(name: str) -> Flavor:
    """The flavor called ``name``."""
    flavor = FLAVORS.get(name)
    if flavor is None:
        raise InvalidArgument(
            f"unknown flavor {name!r} (known: {', '.join(sorted(FLAVORS))})",
            field="flavor",
            details={"flavor": name, "known": sorted(FLAVORS)},
        )
    return flavor


def detect(model: Any) -> Flavor:
    """The flavor that saves ``model`` when none is named."""
    for flavor in FLAVORS.values():
        if flavor.accepts(model):
            return flavor
    raise InvalidArgument(
        f"no flavor saves a {type(model).__module__}.{type(model).__name__}: wrap it in a "
        f"dockyard.models.PythonModel or pass flavor= ({', '.join(sorted(FLAVORS))})",
        field="model",
    )


def for_manifest(manifest: Manifest) -> Flavor:
    """The flavor that loads a package, from its ``loader_module`` or its flavor sections."""
    loader = manifest.python_function.get("loader_module")
    if loader is not None:
        name = _LOADERS.get(str(loader))
        if name is None:
            raise InvalidArgument(
                f"unknown flavor: loader_module {loader!r} is not one Dockyard loads "
                f"(known: {', '.join(sorted(_LOADERS))})",
                field="flavors.python_function.loader_module",
                details={"flavor": str(loader), "known": sorted(_LOADERS)},
            )
        return FLAVORS[name]
    for name in manifest.flavors:
        if name in FLAVORS:
            return FLAVORS[name]
    found = ", ".join(sorted(manifest.flavors))
    raise InvalidArgument(
        f"unknown flavor: none of {found} is one Dockyard loads (known: {', '.join(FLAVORS)})",
        field="flavors",
        details={"flavor": found, "known": sorted(FLAVORS)},
    )
