"""The Amazon States Language, pure: no I/O, and no clock or randomness but what the caller
passes.

- ``intrinsics``: ``States.Format(...)`` and the other intrinsic functions (JSONPath mode).
- ``jsonata``: ``"{% expression %}"`` templates (JSONata mode) and Step Functions' functions.
- ``validation``: create-time checks of a definition, AWS's diagnostics with JSON pointers.
- ``failure``: :class:`StatesError`, a state's failure under its ``States.*`` name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.asl.failure import StatesError
    from dockyard.asl.intrinsics import (
        Intrinsic,
        evaluate_intrinsic,
        is_intrinsic,
        parse_intrinsic,
    )
    from dockyard.asl.jsonata import is_jsonata, resolve_jsonata
    from dockyard.asl.validation import DefinitionInvalid, Problem, parse_definition, validate

__all__ = [
    "DefinitionInvalid",
    "Intrinsic",
    "Problem",
    "StatesError",
    "evaluate_intrinsic",
    "is_intrinsic",
    "is_jsonata",
    "parse_definition",
    "parse_intrinsic",
    "resolve_jsonata",
    "validate",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "StatesError": ".failure",
        "Intrinsic": ".intrinsics",
        "evaluate_intrinsic": ".intrinsics",
        "is_intrinsic": ".intrinsics",
        "parse_intrinsic": ".intrinsics",
        "is_jsonata": ".jsonata",
        "resolve_jsonata": ".jsonata",
        "DefinitionInvalid": ".validation",
        "Problem": ".validation",
        "parse_definition": ".validation",
        "validate": ".validation",
    },
)
