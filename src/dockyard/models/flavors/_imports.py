"""Importing a library while some of its optional dependencies are kept out of the process."""

from __future__ import annotations

import importlib
import importlib.abc
import sys
from typing import Any

__all__ = ["import_without"]


class _Refused(importlib.abc.MetaPathFinder):
    """Makes importing the named top-level packages fail, as if they were not installed."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"{fullname} is left out of this process", name=fullname)


def import_without(module: str, left_out: frozenset[str]) -> None:
    """Import ``module`` while ``left_out`` cannot be imported (unless already imported).

    Only a process that will run one package may do this: a library decides once, when it is
    imported, whether its optional integrations are there.
    """
    refused = _Refused(frozenset(name for name in left_out if name not in sys.modules))
    sys.meta_path.insert(0, refused)
    try:
        importlib.import_module(module)
    finally:
        sys.meta_path.remove(refused)
