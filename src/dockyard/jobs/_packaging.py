"""Turn what a job saved in ``SM_MODEL_DIR`` into a Dockyard model package.

The runner runs this as ``python -m dockyard.jobs._packaging MODEL_DIR DEST`` in a process of
the job's own (its environment and user): loading a native model unpickles what the job wrote.

A package (an ``MLmodel`` file) is kept as it is. A native model file is wrapped, with its
signature inferred from ``input_example.csv`` / ``input_example.json`` beside it when present
(the built-in algorithms write one; a script can too):

=========================================  =========================
file in the model folder                   loaded as
=========================================  =========================
``*.joblib``, ``*.pkl``, ``*.pickle``      scikit-learn (or any picklable estimator)
``xgboost-model``, ``*.ubj``, ``*.json``   XGBoost booster
``*.txt``, ``*.lgb``                       LightGBM booster
``*.onnx``                                 ONNX graph
=========================================  =========================
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["package_model"]

_EXAMPLES = ("input_example.csv", "input_example.json")


def _example(model_dir: Path) -> Any:
    import pandas as pd

    csv, jsn = (model_dir / name for name in _EXAMPLES)
    if csv.is_file():
        return pd.read_csv(csv)
    if jsn.is_file():
        return pd.read_json(jsn, orient="records")
    return None


def _head(path: Path, size: int = 256) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def _is_xgboost(path: Path) -> bool:
    head = _head(path, 4096)
    # UBJSON models open with "{L" + length + "learner"; JSON ones mention "learner" early.
    return path.name == "xgboost-model" or b"learner" in head


def _is_lightgbm(path: Path) -> bool:
    return _head(path).startswith(b"tree\n")


def _regular(path: Path) -> bool:
    # Links are not models: what a job links to is not what it saved (and may not be readable).
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _native(model_dir: Path) -> tuple[Any, str] | None:
    files = sorted(p for p in model_dir.iterdir() if _regular(p) and p.name not in _EXAMPLES)
    for path in files:
        if path.suffix.lower() in (".joblib", ".pkl", ".pickle"):
            import joblib

            return joblib.load(path), path.name
    for path in files:
        if (path.name == "xgboost-model" or path.suffix.lower() in (".ubj", ".json")) and (
            _is_xgboost(path)
        ):
            import xgboost

            booster = xgboost.Booster()
            # From bytes, XGBoost detects UBJSON vs JSON itself; from a suffix-less path it
            # warns that it is guessing.
            booster.load_model(bytearray(path.read_bytes()))
            return booster, path.name
    for path in files:
        if path.suffix.lower() in (".txt", ".lgb") and _is_lightgbm(path):
            import lightgbm

            return lightgbm.Booster(model_file=str(path)), path.name
    for path in files:
        if path.suffix.lower() == ".onnx":
            import onnx

            return onnx.load(str(path)), path.name
    return None


def package_model(model_dir: Path, dest: Path) -> Path | None:
    """The package to upload: ``model_dir`` itself, a wrapped copy in ``dest``, or None when
    the folder holds nothing Dockyard recognises (it is then uploaded as plain files)."""
    if (model_dir / "MLmodel").is_file():
        return model_dir
    if not model_dir.is_dir() or not any(model_dir.iterdir()):
        return None
    found = _native(model_dir)
    if found is None:
        return None
    model, source = found
    from dockyard.models import save_model

    try:
        save_model(model, dest, input_example=_example(model_dir))
    except InvalidArgument as exc:
        raise InvalidArgument(f"could not package {source} from the model folder: {exc}") from exc
    return dest


def main(argv: list[str] | None = None) -> int:
    """Package ``MODEL_DIR`` into ``DEST``; exits 1 with the reason as the last stderr line."""
    args = sys.argv[1:] if argv is None else argv
    try:
        package_model(Path(args[0]), Path(args[1]))
    except Exception as exc:
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        print(str(message).replace("\n", " "), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
