"""The public surface of dockyard.models is pinned: changing it is a decision, not an accident."""

from __future__ import annotations

import dockyard.models


def test_public_names() -> None:
    assert sorted(dockyard.models.__all__) == sorted(
        [
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
