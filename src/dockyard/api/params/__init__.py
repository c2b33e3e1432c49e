"""Parameters as the API accepts and returns them, and the rules of their names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.api.params._entities import (
        MAX_VALUE,
        LabelParameter,
        LabelResult,
        Parameter,
        ParameterList,
        ParameterType,
        ParameterUse,
        PutParameter,
        PutResult,
    )
    from dockyard.api.params._names import (
        VERSION,
        check_label,
        check_name,
        check_path,
        parse_selector,
    )

__all__ = [
    "MAX_VALUE",
    "VERSION",
    "LabelParameter",
    "LabelResult",
    "Parameter",
    "ParameterList",
    "ParameterType",
    "ParameterUse",
    "PutParameter",
    "PutResult",
    "check_label",
    "check_name",
    "check_path",
    "parse_selector",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "LabelParameter": "._entities",
        "LabelResult": "._entities",
        "MAX_VALUE": "._entities",
        "Parameter": "._entities",
        "ParameterList": "._entities",
        "ParameterType": "._entities",
        "ParameterUse": "._entities",
        "PutParameter": "._entities",
        "PutResult": "._entities",
        "VERSION": "._names",
        "check_label": "._names",
        "check_name": "._names",
        "check_path": "._names",
        "parse_selector": "._names",
    },
)
