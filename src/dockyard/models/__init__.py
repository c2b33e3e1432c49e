"""Model packages: save, load, verify, convert, and prepare environments and images.

A package is a directory in MLflow's ``MLmodel`` layout, so MLflow loads Dockyard packages and
Dockyard loads MLflow's. Every file's sha256 is in the manifest and is checked before anything
is unpickled.

>>> info = save_model(estimator, "model", input_example=X.head())   # doctest: +SKIP
>>> model = load_model("model")                                     # doctest: +SKIP
>>> model.predict(X)                                                # doctest: +SKIP
"""

from __future__ import annotations

from dockyard.models._convert import DEFAULT_TOLERANCE, convert_to_onnx
from dockyard.models._image import write_build_context
from dockyard.models._infer import infer_signature
from dockyard.models._integrity import seal, verify
from dockyard.models._save import ModelInfo, save_model
from dockyard.models._schema import ColSpec, ParamSpec, Schema, Signature, TensorSpec
from dockyard.models._venv import build_env
from dockyard.models.flavors import PythonModel, PythonModelContext
from dockyard.models.pyfunc import ModelMetadata, PyFuncModel, load_model

__all__ = [
    "DEFAULT_TOLERANCE",
    "ColSpec",
    "ModelInfo",
    "ModelMetadata",
    "ParamSpec",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "Schema",
    "Signature",
    "TensorSpec",
    "build_env",
    "convert_to_onnx",
    "infer_signature",
    "load_model",
    "save_model",
    "seal",
    "verify",
    "write_build_context",
]
