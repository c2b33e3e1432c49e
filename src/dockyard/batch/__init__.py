"""Batch transform: score files through a model, streamed, in parallel, resumable.

SageMaker's CreateTransformJob semantics (split, batch strategy, payload limit, JSONPath input
and output filters, join with the input) over CSV, JSON Lines and Parquet files, local or on S3::

    spec = TransformSpec(
        model_uri="model/",
        input={"uri": "s3://bucket/test/", "content_type": "text/csv"},
        output={"uri": "s3://bucket/predictions/"},
        data_processing={"input_filter": "$[1:]", "join_source": "Input"},
    )
    result = run_transform(spec, "work/", progress=print)

Outputs are ``<output>/<input name>.out`` plus ``_manifest.json`` (counts and sha256 of every
output), written last. The work directory holds the plan and per-shard markers: running again
with the same work directory resumes without redoing finished shards.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.batch._progress import Progress
    from dockyard.batch._result import BadRecord, FileReport, TransformResult
    from dockyard.batch._runner import run_transform
    from dockyard.batch._spec import (
        BadRecordPolicy,
        DataProcessing,
        TransformInput,
        TransformOutput,
        TransformSpec,
        parse_spec,
    )

# Names resolve on first use: a worker process imports ``dockyard.batch._worker``, which runs
# this file, and must not pay for the runner, the spec's validation models or YAML (~0.13 s).
_HOMES = {
    "Progress": "_progress",
    "BadRecord": "_result",
    "FileReport": "_result",
    "TransformResult": "_result",
    "run_transform": "_runner",
    "BadRecordPolicy": "_spec",
    "DataProcessing": "_spec",
    "TransformInput": "_spec",
    "TransformOutput": "_spec",
    "TransformSpec": "_spec",
    "parse_spec": "_spec",
}

__all__ = [
    "BadRecord",
    "BadRecordPolicy",
    "DataProcessing",
    "FileReport",
    "Progress",
    "TransformInput",
    "TransformOutput",
    "TransformResult",
    "TransformSpec",
    "parse_spec",
    "run_transform",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
