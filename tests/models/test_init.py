"""The public surface of dockyard.models is pinned: changing it is a decision, not an accident."""

from __future__ import annotations

import dockyard.models


def test_public_names() -> None:
    assert sorted(dockyard.models.__all__) == sorted(
        [
            "COLUMN_DTYPES",
            "ColSpec",
            "DEFAULT_TOLERANCE",
            "EXAMPLES",
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
    )
    for name in dockyard.models.__all__:
        assert getattr(dockyard.models, name) is not None


def test_importing_models_imports_no_model_library() -> None:
    import subprocess
    import sys

    script = (
        "import sys, dockyard.models\n"
        "heavy = {'sklearn', 'xgboost', 'lightgbm', 'onnx', 'onnxruntime', 'torch', 'mlflow',"
        " 'skl2onnx', 'onnxmltools'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
