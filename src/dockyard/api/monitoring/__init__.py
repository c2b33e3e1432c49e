"""Model monitoring as the API accepts and returns it: schedule specs, schedules, executions,
violations, ground truth, and the spec of the ``monitoring`` job kind its runner reads. The
computation itself is :mod:`dockyard.monitor`'s."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.api.monitoring._entities import (
        ExecutionStatus,
        GroundTruthRecord,
        GroundTruthUploaded,
        MonitoringExecution,
        MonitoringExecutionList,
        MonitoringSchedule,
        MonitoringScheduleList,
        RunMonitoringSchedule,
        ScheduleStatus,
        ViolationList,
    )
    from dockyard.api.monitoring._job import (
        NO_DATA,
        SUMMARY_FILE,
        MonitoringJobData,
        MonitoringJobOutput,
        MonitoringJobSpec,
    )
    from dockyard.api.monitoring._spec import (
        HOURLY,
        BaselineSource,
        CheckConfig,
        DataConfig,
        ModelQualityConfig,
        MonitoringScheduleSpec,
        MonitoringTarget,
        ProblemType,
        ScheduleName,
        SuggestFrom,
        Threshold,
        UpdateMonitoringSchedule,
        check_schedule,
    )

_ENTITIES = (
    "ExecutionStatus",
    "GroundTruthRecord",
    "GroundTruthUploaded",
    "MonitoringExecution",
    "MonitoringExecutionList",
    "MonitoringSchedule",
    "MonitoringScheduleList",
    "RunMonitoringSchedule",
    "ScheduleStatus",
    "ViolationList",
)
_JOB = ("NO_DATA", "SUMMARY_FILE", "MonitoringJobData", "MonitoringJobOutput", "MonitoringJobSpec")
_SPEC = (
    "HOURLY",
    "BaselineSource",
    "CheckConfig",
    "DataConfig",
    "ModelQualityConfig",
    "MonitoringScheduleSpec",
    "MonitoringTarget",
    "ProblemType",
    "ScheduleName",
    "SuggestFrom",
    "Threshold",
    "UpdateMonitoringSchedule",
    "check_schedule",
)

__all__ = [
    "HOURLY",
    "NO_DATA",
    "SUMMARY_FILE",
    "BaselineSource",
    "CheckConfig",
    "DataConfig",
    "ExecutionStatus",
    "GroundTruthRecord",
    "GroundTruthUploaded",
    "ModelQualityConfig",
    "MonitoringExecution",
    "MonitoringExecutionList",
    "MonitoringJobData",
    "MonitoringJobOutput",
    "MonitoringJobSpec",
    "MonitoringSchedule",
    "MonitoringScheduleList",
    "MonitoringScheduleSpec",
    "MonitoringTarget",
    "ProblemType",
    "RunMonitoringSchedule",
    "ScheduleName",
    "ScheduleStatus",
    "SuggestFrom",
    "Threshold",
    "UpdateMonitoringSchedule",
    "ViolationList",
    "check_schedule",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        **dict.fromkeys(_ENTITIES, "._entities"),
        **dict.fromkeys(_JOB, "._job"),
        **dict.fromkeys(_SPEC, "._spec"),
    },
)
