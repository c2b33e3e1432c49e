"""Modules imported on first use, for code paths that often run without them.

pandas takes ~0.25 s and ~40 MB to import. The modules that convert inputs to DataFrames bind
``pd`` to a :class:`LazyModule` at run time (and to pandas itself for the type checker), so a
process that only ever passes arrays, such as a batch worker scoring numbers, never imports
it::

    if TYPE_CHECKING:
        import pandas as pd
    else:
        from dockyard._lazy import pandas as pd

Code on those paths checks for arrays before touching ``pd``: any attribute access imports.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

__all__ = ["LazyModule", "pandas"]


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
