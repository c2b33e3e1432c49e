"""Pickling that records which modules a model refers to, and unpickling from verified bytes.

The modules recorded while pickling are exactly the code the pickle will import when loaded, so
they are what the package's requirements must pin (a scikit-learn pipeline holding a step from
another library pins that library too).
"""

from __future__ import annotations

import importlib
import io
import pickle
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.models._integrity import Opened, read_verified
from dockyard.models.flavors._base import env_hint

__all__ = ["dump", "load", "no_bytecode"]


def dump(obj: Any, path: Path) -> frozenset[str]:
    """Cloudpickle ``obj`` to ``path``; returns the top-level modules the pickle refers to."""
    import cloudpickle

    modules: set[str] = set()

    class _Recording(cloudpickle.Pickler):  # type: ignore[misc]
        def reducer_override(self, value: Any) -> Any:
            modules.add(type(value).__module__)
            owner = getattr(value, "__module__", None) if isinstance(value, type) else None
            if isinstance(owner, str):
                modules.add(owner)
            return super().reducer_override(value)

    buffer = io.BytesIO()
    _Recording(buffer, protocol=pickle.DEFAULT_PROTOCOL).dump(obj)
    path.write_bytes(buffer.getvalue())
    return frozenset(m.split(".")[0] for m in modules if m)


@contextmanager
def no_bytecode() -> Iterator[None]:
    """Keep imports made while loading from writing ``__pycache__`` into the package.

    A cache file in the package would be an extra, unverified file on the next load.
    """
    before = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.dont_write_bytecode = before


def load(
    opened: Opened,
    name: Any,
    field: str,
    serialization_format: str = "cloudpickle",
    skops_trusted_types: Any = None,
) -> Any:
    """Unpickle a package file from bytes checked against its digest.

    MLflow's ``skops`` format is read with ``skops`` when it is installed.
    """
    if serialization_format not in ("cloudpickle", "pickle", "skops"):
        raise InvalidArgument(
            f"{field}: unknown serialization format {serialization_format!r}", field=field
        )
    data = read_verified(opened, name, field)
    if serialization_format == "skops":
        return _load_skops(data, skops_trusted_types)
    try:
        with no_bytecode():
            # cloudpickle writes standard pickles: the standard loader reads both formats.
            return pickle.loads(data)
    except ModuleNotFoundError as exc:
        raise InvalidArgument(
            f"{name} needs the module {exc.name!r}, which is not installed: " + env_hint(),
            field=field,
            details={"library": exc.name, "installed": None},
        ) from exc


def _load_skops(data: bytes, trusted: Any) -> Any:
    try:
        skops_io = importlib.import_module("skops.io")
    except ImportError as exc:
        raise InvalidArgument(
            "this model was saved with skops, which is not installed: " + env_hint(),
            details={"library": "skops", "installed": None},
        ) from exc
    return skops_io.loads(data, trusted=trusted if isinstance(trusted, list) else None)
