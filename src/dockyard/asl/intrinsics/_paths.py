"""A small path reader for intrinsic arguments: ``$``, ``$$`` and ``$name`` followed by
``.field``, ``['field']`` and ``[index]`` steps.

It keeps the intrinsics usable on their own; the interpreter passes the full JSONPath
evaluator, which also knows wildcards, slices and filters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dockyard.asl.failure import StatesError

__all__ = ["read_path"]

_STEP = re.compile(r"\.([^.\[\]]+)|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]")
_HEAD = re.compile(r"\$\$|\$[A-Za-z_][A-Za-z0-9_]*|\$")


def read_path(path: str, input: Any, context: Any, variables: Mapping[str, Any]) -> Any:
    """The value ``path`` names; a missing field is ``States.Runtime``, as in AWS."""
    head = _HEAD.match(path)
    if head is None:
        raise StatesError("States.Runtime", f"{path!r} is not a path")
    root = head.group()
    if root == "$":
        value = input
    elif root == "$$":
        value = context
    elif root[1:] in variables:
        value = variables[root[1:]]
    else:
        raise StatesError("States.Runtime", f"The variable {root!r} is not defined")
    pos = head.end()
    while pos < len(path):
        step = _STEP.match(path, pos)
        if step is None:
            raise StatesError(
                "States.Runtime", f"Unsupported step at {path[pos:]!r} in the path {path!r}"
            )
        name, quoted, index = step.groups()
        key: str | int = int(index) if index is not None else (name or quoted)
        found = (isinstance(key, int) and isinstance(value, list) and key < len(value)) or (
            isinstance(key, str) and isinstance(value, dict) and key in value
        )
        if found:
            value = value[key]
        else:
            raise StatesError(
                "States.Runtime", f"The JSONPath {path!r} could not be found in the input"
            )
        pos = step.end()
    return value
