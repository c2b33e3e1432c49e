"""JSONPath mode's data flow, in AWS's order::

    state input --InputPath--> --Parameters--> effective input --(task, Result, branches)-->
    result --ResultSelector--> --ResultPath (into the state input)--> --OutputPath--> output

``InputPath``/``OutputPath`` ``null`` give ``{}``; ``ResultPath`` ``null`` discards the result
and passes the state input on. In a payload template (Parameters, ResultSelector,
ItemSelector, Assign) a key ending ``.$`` takes its value from a path (``$.x``, ``$$.x``,
``$var``) or an intrinsic (``States.Format(...)``); other values are copied as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from random import Random
from typing import Any

from dockyard.asl import paths
from dockyard.asl.errors import runtime
from dockyard.asl.expressions import intrinsic, is_intrinsic
from dockyard.asl.history import json_text

__all__ = ["assign", "output_path", "resolve", "result_path", "select", "template"]

_UNSET: Any = object()


def select(path: str | None, data: Any, *, context: Any, variables: Mapping[str, Any]) -> Any:
    """InputPath / OutputPath / ItemsPath: what ``path`` selects from ``data``."""
    if path is None:
        return {}
    if path == "$":
        return data
    parsed = paths.parse_path(path)
    value = paths.find(parsed, data, context=context, variables=variables)
    if value is paths.MISSING:
        raise runtime(f"Invalid path '{path}' : No results for path: {_normal(parsed)}")
    return value


def _normal(parsed: paths.Path) -> str:
    out = parsed.root
    for step in parsed.steps:
        out += f"['{step}']" if isinstance(step, str) else f"[{step}]"
    return out


def resolve(
    text: Any,
    data: Any,
    *,
    field: str,
    context: Any,
    variables: Mapping[str, Any],
    random: Random | None = None,
) -> Any:
    """The value of a ``.$`` field: a path or an intrinsic call."""
    if not isinstance(text, str):
        raise runtime(f"The value of the field '{field}' must be a path or an intrinsic")
    if is_intrinsic(text):
        return intrinsic(
            text, field=field, input=data, context=context, variables=variables, random=random
        )
    if text == "$":
        return data
    parsed = paths.parse_path(text)
    value = paths.find(parsed, data, context=context, variables=variables)
    if value is paths.MISSING:
        source = context if parsed.root == "$$" else data
        raise runtime(
            f"The JSONPath '{text}' specified for the field '{field}' could not be found "
            f"in the input '{json_text(source)}'"
        )
    return value


def template(
    value: Any,
    data: Any,
    *,
    context: Any,
    variables: Mapping[str, Any],
    field: str = "",
    random: Random | None = None,
) -> Any:
    """A payload template (Parameters, ResultSelector, ItemSelector) filled from ``data``."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key.endswith(".$"):
                out[key[:-2]] = resolve(
                    item, data, field=key, context=context, variables=variables, random=random
                )
            else:
                out[key] = template(
                    item, data, context=context, variables=variables, field=key, random=random
                )
        return out
    if isinstance(value, list):
        return [
            template(item, data, context=context, variables=variables, field=field, random=random)
            for item in value
        ]
    return value


def assign(
    spec: Mapping[str, Any],
    data: Any,
    *,
    context: Any,
    variables: Mapping[str, Any],
    random: Random | None = None,
) -> dict[str, Any]:
    """JSONPath mode's ``Assign``: every value is computed before any variable changes."""
    result = template(dict(spec), data, context=context, variables=variables, random=random)
    assert isinstance(result, dict)
    return result


def result_path(spec: Mapping[str, Any], state_input: Any, result: Any) -> Any:
    """``ResultPath``: absent or ``$`` replaces, ``null`` discards, a path merges into the input."""
    path = spec.get("ResultPath", "$")
    if path is None:
        return state_input
    if path == "$":
        return result
    return paths.put(path, state_input, result)


def output_path(
    spec: Mapping[str, Any], value: Any, *, context: Any, variables: Mapping[str, Any]
) -> Any:
    return select(spec.get("OutputPath", "$"), value, context=context, variables=variables)
