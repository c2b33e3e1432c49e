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
with the same work directory resumes without redoing finished shards. Given a Ray cluster
(``cluster=RayShards(address)``), shards of an S3-to-S3 transform run as tasks on its nodes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.runtime.batch._cluster import RayShards
    from dockyard.runtime.batch._fork import prepare_limits
    from dockyard.runtime.batch._inputs import shown_location
    from dockyard.runtime.batch._progress import Progress
    from dockyard.runtime.batch._result import BadRecord, FileReport, TransformResult
    from dockyard.runtime.batch._runner import run_transform

__all__ = [
    "BadRecord",
    "FileReport",
    "Progress",
    "RayShards",
    "TransformResult",
    "prepare_limits",
    "run_transform",
    "shown_location",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "BadRecord": "._result",
        "FileReport": "._result",
        "Progress": "._progress",
        "RayShards": "._cluster",
        "TransformResult": "._result",
        "prepare_limits": "._fork",
        "run_transform": "._runner",
        "shown_location": "._inputs",
    },
)
