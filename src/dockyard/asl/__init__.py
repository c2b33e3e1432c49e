"""The Amazon States Language: intrinsic functions, JSONata, definition validation."""

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

__all__ = [
    "Intrinsic",
    "StatesError",
    "evaluate_intrinsic",
    "is_intrinsic",
    "is_jsonata",
    "parse_intrinsic",
    "resolve_jsonata",
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
    },
)
