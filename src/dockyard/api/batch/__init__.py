"""The transform spec (SageMaker's CreateTransformJob) and its JSONPath filters."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.api.batch._handlers import refuse_for_handlers
    from dockyard.api.batch._jsonpath import JsonPath, JsonPathError
    from dockyard.api.batch._spec import (
        DEFAULT_MAX_PAYLOAD_MB,
        PARQUET,
        BadRecordPolicy,
        DataProcessing,
        TransformInput,
        TransformOutput,
        TransformSpec,
        names_a_model,
        parse_spec,
    )
    from dockyard.api.batch._spellings import SAGEMAKER_NAMES, respell, respelled

__all__ = [
    "DEFAULT_MAX_PAYLOAD_MB",
    "PARQUET",
    "SAGEMAKER_NAMES",
    "BadRecordPolicy",
    "DataProcessing",
    "JsonPath",
    "JsonPathError",
    "TransformInput",
    "TransformOutput",
    "TransformSpec",
    "names_a_model",
    "parse_spec",
    "refuse_for_handlers",
    "respell",
    "respelled",
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
        "names_a_model": "._spec",
        "parse_spec": "._spec",
        "refuse_for_handlers": "._handlers",
        "respell": "._spellings",
        "respelled": "._spellings",
        "SAGEMAKER_NAMES": "._spellings",
    },
)
