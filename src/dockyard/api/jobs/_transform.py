"""A transform job's spec: a transform spec plus what a job adds (its name, experiment, tags)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from dockyard.api.batch import TransformSpec
from dockyard.api.jobs._spec import JobName, TagKey
from dockyard.limits import LIMITS

__all__ = ["TransformJobSpec"]


class TransformJobSpec(TransformSpec):
    """A transform spec plus what a job adds: its name, experiment and tags."""

    name: JobName | None = None
    experiment: (
        Annotated[str, StringConstraints(min_length=1, max_length=LIMITS.experiment_name_length)]
        | None
    ) = None
    tags: dict[TagKey, Annotated[str, StringConstraints(max_length=256)]] = Field(
        default_factory=dict, max_length=50
    )

    def transform_spec(self) -> TransformSpec:
        """The part :func:`dockyard.runtime.batch.run_transform` reads."""
        return TransformSpec.model_validate(
            self.model_dump(exclude={"name", "experiment", "tags"}, by_alias=False)
        )
