"""Model packages: save, load, verify, convert, and prepare environments and images.

A package is a directory in MLflow's ``MLmodel`` layout, so MLflow loads Dockyard packages and
Dockyard loads MLflow's. Every file's sha256 is in the manifest and is checked before anything
is unpickled.

>>> info = save_model(estimator, "model", input_example=X.head())   # doctest: +SKIP
>>> model = load_model("model")                                     # doctest: +SKIP
>>> model.predict(X)                                                # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.models._convert import DEFAULT_TOLERANCE, convert_to_onnx
    from dockyard.models._env import dockyard_version
    from dockyard.models._image import write_build_context
    from dockyard.models._infer import infer_signature
    from dockyard.models._inference_toolkit import Invoked, RawRequest
    from dockyard.models._integrity import open_package, package_digest, seal, verify
    from dockyard.models._manifest import Manifest, parse_manifest, read_manifest_bytes
    from dockyard.models._model_files import EXAMPLES, find_native
    from dockyard.models._payload import decode_csv, decode_json, encode_csv, to_jsonable
    from dockyard.models._save import ModelInfo, save_model, save_package
    from dockyard.models._schema import (
        COLUMN_DTYPES,
        ColSpec,
        ParamSpec,
        Schema,
        Signature,
        TensorSpec,
    )
    from dockyard.models._signature import InputEnforcer, cast_tensor
    from dockyard.models._venv import build_env, requirements_env
    from dockyard.models.flavors.python_model import PythonModel, PythonModelContext
    from dockyard.models.pyfunc import ModelMetadata, PyFuncModel, load_model

__all__ = [
    "COLUMN_DTYPES",
    "DEFAULT_TOLERANCE",
    "EXAMPLES",
    "ColSpec",
    "InputEnforcer",
    "Invoked",
    "Manifest",
    "ModelInfo",
    "ModelMetadata",
    "ParamSpec",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "RawRequest",
    "Schema",
    "Signature",
    "TensorSpec",
    "build_env",
    "cast_tensor",
    "convert_to_onnx",
    "decode_csv",
    "decode_json",
    "dockyard_version",
    "encode_csv",
    "find_native",
    "infer_signature",
    "load_model",
    "open_package",
    "package_digest",
    "parse_manifest",
    "read_manifest_bytes",
    "requirements_env",
    "save_model",
    "save_package",
    "seal",
    "to_jsonable",
    "verify",
    "write_build_context",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "COLUMN_DTYPES": "._schema",
        "ColSpec": "._schema",
        "DEFAULT_TOLERANCE": "._convert",
        "EXAMPLES": "._model_files",
        "InputEnforcer": "._signature",
        "Invoked": "._inference_toolkit",
        "Manifest": "._manifest",
        "ModelInfo": "._save",
        "ModelMetadata": ".pyfunc",
        "ParamSpec": "._schema",
        "PyFuncModel": ".pyfunc",
        "PythonModel": ".flavors.python_model",
        "PythonModelContext": ".flavors.python_model",
        "RawRequest": "._inference_toolkit",
        "Schema": "._schema",
        "Signature": "._schema",
        "TensorSpec": "._schema",
        "build_env": "._venv",
        "cast_tensor": "._signature",
        "convert_to_onnx": "._convert",
        "decode_csv": "._payload",
        "decode_json": "._payload",
        "dockyard_version": "._env",
        "encode_csv": "._payload",
        "find_native": "._model_files",
        "infer_signature": "._infer",
        "load_model": ".pyfunc",
        "open_package": "._integrity",
        "package_digest": "._integrity",
        "parse_manifest": "._manifest",
        "read_manifest_bytes": "._manifest",
        "requirements_env": "._venv",
        "save_model": "._save",
        "save_package": "._save",
        "seal": "._integrity",
        "to_jsonable": "._payload",
        "verify": "._integrity",
        "write_build_context": "._image",
    },
)
