"""Typed requests: the one definition of each tracking operation's input.

The native HTTP routes take these as bodies and the SDK builds the same objects, so a value is
validated once, with errors that name the field. Limits follow MLflow's, so clients that respect
MLflow's limits respect Dockyard's.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from dockyard.api.tracking._entities import DatasetInput, ModelOutput, RunStatus, ViewType
from dockyard.errors import InvalidArgument
from dockyard.limits import LIMITS

__all__ = [
    "LIMITS",
    "LOGGED_MODEL_ID",
    "CountRuns",
    "CreateExperiment",
    "CreateLoggedModel",
    "CreateRun",
    "DatasetFilter",
    "LogBatch",
    "LogInputs",
    "LogOutputs",
    "LoggedModelOrder",
    "MetricIn",
    "ParamIn",
    "SearchLoggedModels",
    "SearchRuns",
    "TagIn",
    "UpdateExperiment",
    "UpdateRun",
    "validate_key",
]


_KEY = re.compile(r"^[/\w.\- :]+$")


@functools.lru_cache(maxsize=8192)
def validate_key(key: str) -> str:
    """A metric/param/tag key: word characters, ``/ . - :`` and spaces, no path escapes.

    Cached: a batch of 10,000 points usually carries a handful of distinct keys.
    """
    if not _KEY.match(key):
        raise ValueError(
            f"invalid key {key!r}: use letters, digits, underscores, dashes, periods, spaces, "
            "colons and slashes"
        )
    if key.startswith("/") or any(part == ".." for part in key.split("/")):
        raise ValueError(f"invalid key {key!r}: it must not be absolute or contain '..'")
    return key


Key = Annotated[
    str, StringConstraints(min_length=1, max_length=LIMITS.key_length), AfterValidator(validate_key)
]
Timestamp = Annotated[int, Field(ge=0, le=2**63 - 1)]
Step = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="strings")


#: A logged model's id: ``m-`` and 32 hex digits, as MLflow makes them.
LOGGED_MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")
ModelId = Annotated[str, StringConstraints(pattern=LOGGED_MODEL_ID.pattern)]
_DatasetField = Annotated[str, StringConstraints(max_length=500)]


class MetricIn(_Request):
    """One metric point. ``value`` may be NaN or ±Infinity (sent as strings in JSON).

    ``model_id`` links the point to a logged model as well (MLflow 3), optionally for a dataset.
    """

    key: Key
    value: float
    timestamp: Timestamp
    step: Step = 0
    model_id: ModelId | None = None
    dataset_name: _DatasetField | None = None
    dataset_digest: Annotated[str, StringConstraints(max_length=64)] | None = None


class ParamIn(_Request):
    key: Key
    value: Annotated[str, StringConstraints(max_length=LIMITS.param_value_length)]


class TagIn(_Request):
    key: Key
    value: Annotated[str, StringConstraints(max_length=LIMITS.tag_value_length)]


ExperimentName = Annotated[
    str, StringConstraints(min_length=1, max_length=LIMITS.experiment_name_length)
]


class CreateExperiment(_Request):
    name: ExperimentName
    tags: list[TagIn] = Field(default_factory=list, max_length=LIMITS.batch_tags)


class UpdateExperiment(_Request):
    name: ExperimentName


class CreateRun(_Request):
    experiment_id: Annotated[str, StringConstraints(pattern=r"^\d{1,18}$")] = "0"
    run_name: Annotated[str, StringConstraints(max_length=LIMITS.run_name_length)] | None = None
    start_time: Timestamp | None = None
    user_id: Annotated[str, StringConstraints(max_length=256)] = ""
    parent_run_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] | None = None
    tags: list[TagIn] = Field(default_factory=list, max_length=LIMITS.batch_tags)


class UpdateRun(_Request):
    status: RunStatus | None = None
    end_time: Timestamp | None = None
    run_name: Annotated[str, StringConstraints(max_length=LIMITS.run_name_length)] | None = None


class LogBatch(_Request):
    """Metrics, params and tags in one atomic write.

    ``batch_id`` makes a retry safe: a batch whose id was applied before is acknowledged and not
    applied again.
    """

    batch_id: Annotated[str, StringConstraints(min_length=8, max_length=64)] | None = None
    metrics: list[MetricIn] = Field(default_factory=list, max_length=LIMITS.batch_metrics)
    params: list[ParamIn] = Field(default_factory=list, max_length=LIMITS.batch_params)
    tags: list[TagIn] = Field(default_factory=list, max_length=LIMITS.batch_tags)


class LogInputs(_Request):
    """Datasets a run consumed, and logged models it used (``models``, by id)."""

    datasets: list[DatasetInput] = Field(default_factory=list, max_length=100)
    models: list[ModelId] = Field(default_factory=list, max_length=100)


class LogOutputs(_Request):
    """Logged models a run produced."""

    models: list[ModelOutput] = Field(min_length=1, max_length=100)


def _model_name(name: str) -> str:
    # MLflow's rule: these would break the model's URIs and artifact paths.
    bad = [c for c in "/:.%\"'" if c in name]
    if bad:
        raise ValueError(f"invalid model name {name!r}: it may not contain {' '.join(bad)}")
    return name


class CreateLoggedModel(_Request):
    """A new logged model in an experiment; a random name is chosen when none is given."""

    experiment_id: Annotated[str, StringConstraints(pattern=r"^\d{1,18}$")]
    name: (
        Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(_model_name)]
        | None
    ) = None
    model_type: Annotated[str, StringConstraints(max_length=500)] | None = None
    source_run_id: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    params: list[ParamIn] = Field(default_factory=list, max_length=LIMITS.batch_params)
    tags: list[TagIn] = Field(default_factory=list, max_length=LIMITS.batch_tags)


class LoggedModelOrder(_Request):
    """One ordering key of a logged-model search: an attribute or ``metrics.<key>``, whose
    value may be taken from points of one dataset only."""

    field_name: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    ascending: bool = True
    dataset_name: _DatasetField | None = None
    dataset_digest: Annotated[str, StringConstraints(max_length=64)] | None = None


class DatasetFilter(_Request):
    dataset_name: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    dataset_digest: Annotated[str, StringConstraints(max_length=64)] | None = None


class SearchLoggedModels(_Request):
    """A logged-model search: MLflow's filter syntax over attributes, ``metrics.*``,
    ``params.*`` and ``tags.*``; ``datasets`` keeps models with metrics on those datasets."""

    experiment_ids: list[Annotated[str, StringConstraints(pattern=r"^\d{1,18}$")]] = Field(
        min_length=1, max_length=1000
    )
    filter: Annotated[str, StringConstraints(max_length=10_000)] = ""
    datasets: list[DatasetFilter] = Field(default_factory=list, max_length=100)
    order_by: list[LoggedModelOrder] = Field(default_factory=list, max_length=20)
    max_results: Annotated[int, Field(ge=1, le=LIMITS.page_max_results)] = (
        LIMITS.page_default_results
    )
    page_token: Annotated[str, StringConstraints(max_length=LIMITS.page_token_length)] | None = None


class SearchRuns(_Request):
    """A run search. Continue with the ``page_token`` a page answered, or jump to a row with
    ``offset`` (a table scrolled to row 50,000 asks for that page directly); not both."""

    experiment_ids: list[str] = Field(default_factory=list, max_length=1000)
    filter: Annotated[str, StringConstraints(max_length=10_000)] = ""
    order_by: list[Annotated[str, StringConstraints(max_length=500)]] = Field(
        default_factory=list, max_length=20
    )
    run_view_type: ViewType = ViewType.ACTIVE_ONLY
    max_results: Annotated[int, Field(ge=1, le=LIMITS.search_max_results)] = 1000
    page_token: Annotated[str, StringConstraints(max_length=LIMITS.page_token_length)] | None = None
    offset: Annotated[int, Field(ge=0, lt=2**63)] | None = None

    @model_validator(mode="after")
    def _one_start(self) -> SearchRuns:
        if self.offset is not None and self.page_token:
            raise InvalidArgument("give page_token or offset, not both", field="offset")
        return self


class CountRuns(_Request):
    """How many runs a search matches, optionally split by one param, tag or attribute."""

    experiment_ids: list[str] = Field(default_factory=list, max_length=1000)
    filter: Annotated[str, StringConstraints(max_length=10_000)] = ""
    run_view_type: ViewType = ViewType.ACTIVE_ONLY
    group_by: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    #: A metric (``metrics.<key>``) whose lowest, mean and highest latest value each group
    #: reports, NaN left out.
    summarize: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
