"""Imported on first use: the one scheme for package faces and for heavy optional modules.

Every package's ``__init__`` names what it offers and where each name lives; the module that
defines a name is imported the first time the name is read, so importing a package costs
nothing until it is used (a job's runner, a batch worker and the CLI start fast)::

    if TYPE_CHECKING:
        from dockyard.api.jobs._entities import Job

    __all__ = ["Job"]
    __getattr__, __dir__ = exports(__name__, {"Job": "._entities"})

Heavy third-party modules on paths that often run without them work the same way.

pandas takes ~0.25 s and ~40 MB to import. The modules that convert inputs to DataFrames bind
``pd`` to a :class:`LazyModule` at run time (and to pandas itself for the type checker), so a
process that only ever passes arrays, such as a batch worker scoring numbers, never imports
it::

    if TYPE_CHECKING:
        import pandas as pd
    else:
        from dockyard.lazy import pandas as pd

Code on those paths checks for arrays before touching ``pd``: any attribute access imports.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

__all__ = ["LazyModule", "exports", "pandas"]


def exports(
    package: str, names: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each of ``names`` is read from its module
    (relative to the package, like ``"._entities"``) on first use, then kept on the package. A
    name mapped to a module of the same name (``"steps": ".client.sdk.steps"``) is the module."""

    def __getattr__(name: str) -> Any:
        where = names.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(where, package)
        is_module = where.rpartition(".")[2] == name
        value = module if is_module else getattr(module, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(names) | set(vars(sys.modules[package])))

    return __getattr__, __dir__


class LazyModule:
    """Stands for a module; the first attribute read imports it."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"


pandas = LazyModule("pandas")
