"""Which files a job left in ``SM_MODEL_DIR`` are a model, and how to load it.

Used where a job's model folder is packaged (:mod:`dockyard.runtime.runner._packaging`), and as the
default ``model_fn`` of a package carrying SageMaker inference handlers
(:mod:`dockyard.models.flavors.sagemaker_script`), which runs wherever models run: so it lives
with the model runtime.

The names and formats SageMaker's framework containers accept, tried in this order (the first
file that matches is the model; the others travel with it as plain files):

==========================================  ===============================================
file in the model folder                    loaded as
==========================================  ===============================================
``xgboost-model`` (XGBoost container)       a pickled ``Booster`` or ``XGBModel`` (script
                                            mode's ``pickle.dump``), or a ``save_model``
                                            file in UBJSON or JSON
``*.joblib`` (scikit-learn container),      ``joblib.load`` (or ``pickle.load`` where joblib
``*.pkl``, ``*.pickle``                     is not installed): any picklable estimator
``*.ubj``, ``*.json`` holding XGBoost       XGBoost ``Booster``
``*.txt``, ``*.lgb`` holding LightGBM       LightGBM ``Booster``
``*.onnx``                                  ONNX graph
==========================================  ===============================================

A file that matches but does not load raises :class:`ModelFileError` with one line saying
which file and why (an XGBoost error's C++ stack trace is cut to its message).
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

__all__ = ["EXAMPLES", "ModelFileError", "find_native"]

#: Files beside the model that give its input example (and so its signature); never a model.
EXAMPLES = ("input_example.csv", "input_example.json")
XGBOOST_NAME = "xgboost-model"
_PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
# XGBoost prefixes its messages with "[time] /path/file.cc:line: "; the stack trace follows.
_XGBOOST_PREFIX = re.compile(r"^\[[\d:]+\] \S+:\d+: ")


class ModelFileError(Exception):
    """A file that looks like a model did not load; the message says which and why."""


def _head(path: Path, size: int = 256) -> bytes:
    with path.open("rb") as handle:
        return handle.read(size)


def _is_pickle(path: Path) -> bool:
    head = _head(path, 2)
    return len(head) == 2 and head[0] == 0x80  # PROTO, which pickles of protocol 2+ open with


def _is_xgboost(path: Path) -> bool:
    # UBJSON models open with "{L" + length + "learner"; JSON ones mention "learner" early.
    return b"learner" in _head(path, 4096)


def _is_lightgbm(path: Path) -> bool:
    return _head(path).startswith(b"tree\n")


def _regular(path: Path) -> bool:
    # Links are not models: what a job links to is not what it saved (and may not be readable).
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    text = _XGBOOST_PREFIX.sub("", lines[0]) if lines else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _unpickle(path: Path) -> Any:
    try:
        import joblib
    except ImportError:  # an environment of the job's own without scikit-learn
        import pickle

        with path.open("rb") as handle:
            return pickle.load(handle)
    return joblib.load(path)


def _xgboost(path: Path) -> Any:
    import xgboost

    booster = xgboost.Booster()
    # From bytes, XGBoost detects UBJSON vs JSON itself; from a suffix-less path it warns that
    # it is guessing.
    booster.load_model(bytearray(path.read_bytes()))
    return booster


def _lightgbm(path: Path) -> Any:
    import lightgbm

    return lightgbm.Booster(model_file=str(path))


def _onnx(path: Path) -> Any:
    import onnx

    return onnx.load(str(path))


def _loader(path: Path) -> tuple[str, Any] | None:
    """(what the file is taken for, how to load it), or None when it is not a model."""
    suffix = path.suffix.lower()
    if path.name == XGBOOST_NAME:
        if _is_pickle(path):
            return "a pickled XGBoost model", _unpickle
        return "an XGBoost model", _xgboost
    if suffix in _PICKLE_SUFFIXES:
        return "a pickled model", _unpickle
    if suffix in (".ubj", ".json") and _is_xgboost(path):
        return "an XGBoost model", _xgboost
    if suffix in (".txt", ".lgb") and _is_lightgbm(path):
        return "a LightGBM model", _lightgbm
    if suffix == ".onnx":
        return "an ONNX model", _onnx
    return None


def _priority(path: Path) -> int:
    # SageMaker's own names first: a script that saved xgboost-model and a helper pickle
    # meant the former.
    if path.name == XGBOOST_NAME:
        return 0
    return 1 if path.suffix.lower() in _PICKLE_SUFFIXES else 2


def find_native(model_dir: Path) -> tuple[Any, str] | None:
    """The model in ``model_dir`` and its file name; None when no file is one.

    Raises:
        ModelFileError: The model file did not load.
    """
    files = sorted(
        (p for p in model_dir.iterdir() if _regular(p) and p.name not in EXAMPLES),
        key=lambda p: (_priority(p), p.name),
    )
    for path in files:
        found = _loader(path)
        if found is None:
            continue
        what, load = found
        try:
            return load(path), path.name
        except Exception as exc:
            raise ModelFileError(
                f"{path.name} looks like {what} but did not load ({_first_line(exc)})"
            ) from exc
    return None
