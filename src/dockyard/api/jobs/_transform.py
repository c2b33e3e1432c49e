"""A transform job's spec: a transform spec plus what a job adds (its name, experiment, tags)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from dockyard.api.batch import TransformSpec
from dockyard.api.jobs._spec import ExecutorName, JobName, TagKey
from dockyard.limits import LIMITS

__all__ = [
    "SAGEMAKER_NAME_TAG",
    "TransformJobSpec",
    "default_output",
    "sagemaker_name",
    "transform_alias",
]

#: The name SageMaker's API gave a transform job stored under another name (see
#: :func:`transform_alias`).
SAGEMAKER_NAME_TAG = "sagemaker:transform-job-name"


def transform_alias(name: str) -> str:
    """The name a transform job SageMaker calls ``name`` is stored under when a training job
    has that name already. SageMaker keeps training and transform jobs apart, and Step
    Functions' sample ML pipeline names both after its execution; Dockyard's jobs share one set
    of names. The job keeps ``name`` as :data:`SAGEMAKER_NAME_TAG`, and SageMaker's API and the
    pipeline's answers call it that."""
    return f"{name}-transform"


def sagemaker_name(job: Any) -> str:
    """What SageMaker's API calls transform job ``job`` (its own name unless aliased)."""
    tags = (job.spec or {}).get("tags") or {}
    found = tags.get(SAGEMAKER_NAME_TAG)
    return str(found) if found else str(job.name)


class TransformJobSpec(TransformSpec):
    """A transform spec plus what a job adds: its name, experiment, tags and the executor that
    runs it (None: the server's default)."""

    name: JobName | None = None
    experiment: (
        Annotated[str, StringConstraints(min_length=1, max_length=LIMITS.experiment_name_length)]
        | None
    ) = None
    tags: dict[TagKey, Annotated[str, StringConstraints(max_length=256)]] = Field(
        default_factory=dict, max_length=50
    )
    executor: ExecutorName | None = None

    def transform_spec(self) -> TransformSpec:
        """The part :func:`dockyard.runtime.batch.run_transform` reads."""
        return TransformSpec.model_validate(
            self.model_dump(exclude={"name", "experiment", "tags", "executor"}, by_alias=False)
        )


def default_output(body: Mapping[str, Any], uri: str = "s3://default/output") -> dict[str, Any]:
    """A transform job request with ``uri`` as its output folder when it names none (no
    ``output``, or one without a ``uri``, in either spelling).

    The server picks that folder at submission (``transform/<job name>/`` in its artifact
    store); before then (a client checking a request, a trigger checking the spec it will
    submit) the default ``uri`` stands in for it, so :class:`TransformJobSpec` can check the
    rest as the server will.
    """
    out = dict(body)
    output = out.get("output", out.get("TransformOutput"))
    if output is None or (
        isinstance(output, Mapping) and not output.get("uri", output.get("S3OutputPath"))
    ):
        extra = dict(output) if isinstance(output, Mapping) else {}
        out["output"] = {**extra, "uri": uri}
        out.pop("TransformOutput", None)
    return out
