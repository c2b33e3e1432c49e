"""The intrinsic functions of the States Language (JSONPath mode): ``States.Format``,
``States.Array``..., ``States.UUID``, as the AWS Step Functions guide documents them.

- ``_syntax``: the grammar and its parser (string escapes, numbers, paths, nested calls).
- ``_functions``: each function, its signature (argument names and kinds) and AWS's limits.
- ``_evaluate``: the face: parse (cached, checked), evaluate, recognise.
- ``_paths``: a plain path reader used when no JSONPath evaluator is passed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.asl.intrinsics._evaluate import (
        Intrinsic,
        PathResolver,
        evaluate_intrinsic,
        intrinsic_paths,
        is_intrinsic,
        parse_intrinsic,
    )
    from dockyard.asl.intrinsics._syntax import IntrinsicSyntaxError

__all__ = [
    "Intrinsic",
    "IntrinsicSyntaxError",
    "PathResolver",
    "evaluate_intrinsic",
    "intrinsic_paths",
    "is_intrinsic",
    "parse_intrinsic",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "Intrinsic": "._evaluate",
        "PathResolver": "._evaluate",
        "evaluate_intrinsic": "._evaluate",
        "intrinsic_paths": "._evaluate",
        "is_intrinsic": "._evaluate",
        "parse_intrinsic": "._evaluate",
        "IntrinsicSyntaxError": "._syntax",
    },
)
