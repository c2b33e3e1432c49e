"""The spec of a ``monitoring`` job, as the server submits it and its runner
(:mod:`dockyard.runtime.monitor`) reads it: what to read (URIs only), the baseline, the options,
where to write. Users never write one: a schedule's loop does."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dockyard.api.jobs import ExecutorName
from dockyard.api.monitoring._spec import ModelQualityConfig

__all__ = [
    "NO_DATA",
    "SUMMARY_FILE",
    "MonitoringJobData",
    "MonitoringJobOutput",
    "MonitoringJobSpec",
]

#: The file of a monitoring job's outputs the server reads when the job has ended.
SUMMARY_FILE = "summary.json"
#: How a check of a window without records fails (SageMaker's FailureReason for it).
NO_DATA = "Job inputs had no data"


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MonitoringJobData(_Spec):
    """Where the data is (folders are listed through the artifact store) and how to read it."""

    uris: tuple[str, ...]
    format: Literal["capture", "csv", "jsonl", "parquet"] = "capture"
    columns: tuple[str, ...] | None = None
    header: bool | None = None
    capture_side: Literal["input", "output", "both"] = "input"


class MonitoringJobOutput(_Spec):
    uri: str


class MonitoringJobSpec(_Spec):
    """``mode``: ``check`` a window against ``baseline_uri``, or suggest a ``baseline``."""

    name: str
    mode: Literal["check", "baseline"] = "check"
    schedule: str
    execution_id: str
    experiment: str | None = None
    #: Which of the server's executors runs the job (its schedule's); None: the default.
    executor: ExecutorName | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    data: MonitoringJobData
    baseline_uri: str | None = None
    check_options: dict[str, Any] = Field(default_factory=dict)
    model_quality: ModelQualityConfig | None = None
    #: Ground-truth files (JSON Lines of ``{"inference_id", "label"}``) for the join.
    ground_truth_uris: tuple[str, ...] = ()
    window_start: int = 0
    window_end: int = 0
    output: MonitoringJobOutput
