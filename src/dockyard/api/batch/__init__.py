"""The transform spec (SageMaker's CreateTransformJob) and its JSONPath filters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.api.batch._jsonpath import JsonPath, JsonPathError
    from dockyard.api.batch._spec import (
        DEFAULT_MAX_PAYLOAD_MB,
        PARQUET,
        BadRecordPolicy,
        DataProcessing,
        TransformInput,
        TransformOutput,
        TransformSpec,
        parse_spec,
    )

__all__ = [
    "DEFAULT_MAX_PAYLOAD_MB",
    "PARQUET",
    "BadRecordPolicy",
    "DataProcessing",
    "JsonPath",
    "JsonPathError",
    "TransformInput",
    "TransformOutput",
    "TransformSpec",
    "parse_spec",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "BadRecordPolicy": "._spec",
        "DEFAULT_MAX_PAYLOAD_MB": "._spec",
        "DataProcessing": "._spec",
        "JsonPath": "._jsonpath",
        "JsonPathError": "._jsonpath",
        "PARQUET": "._spec",
        "TransformInput": "._spec",
        "TransformOutput": "._spec",
        "TransformSpec": "._spec",
        "parse_spec": "._spec",
    },
)
