"""Pipelines as the API accepts and returns them: state machines, executions, history, task
callbacks; and the ARNs that name them (see :mod:`dockyard.server.pipelines`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.api.pipelines._arns import (
        check_name,
        execution_arn,
        is_express_arn,
        parse_execution_arn,
        parse_state_machine_arn,
        state_machine_arn,
    )
    from dockyard.api.pipelines._calls import (
        CallEnded,
        CallLost,
        RemoteCalls,
        apply_limits,
        kill_tree,
        run_cold,
        without_settings,
    )
    from dockyard.api.pipelines._entities import (
        MAX_TAGS,
        Diagnostic,
        Execution,
        ExecutionList,
        ExecutionStatus,
        ExecutionSummary,
        History,
        HistoryEvent,
        MachineType,
        StartedExecution,
        StartExecution,
        StateMachine,
        StateMachineConfig,
        StateMachineList,
        StateMachineSummary,
        StateMachineUpdate,
        StopExecution,
        Tagging,
        Tags,
        TaskFailure,
        TaskHeartbeat,
        TaskSuccess,
        ValidateDefinition,
        Validation,
    )

__all__ = [
    "MAX_TAGS",
    "CallEnded",
    "CallLost",
    "Diagnostic",
    "Execution",
    "ExecutionList",
    "ExecutionStatus",
    "ExecutionSummary",
    "History",
    "HistoryEvent",
    "MachineType",
    "RemoteCalls",
    "StartExecution",
    "StartedExecution",
    "StateMachine",
    "StateMachineConfig",
    "StateMachineList",
    "StateMachineSummary",
    "StateMachineUpdate",
    "StopExecution",
    "Tagging",
    "Tags",
    "TaskFailure",
    "TaskHeartbeat",
    "TaskSuccess",
    "ValidateDefinition",
    "Validation",
    "apply_limits",
    "check_name",
    "execution_arn",
    "is_express_arn",
    "kill_tree",
    "parse_execution_arn",
    "parse_state_machine_arn",
    "run_cold",
    "state_machine_arn",
    "without_settings",
]
_CALLS = {
    "CallEnded",
    "CallLost",
    "RemoteCalls",
    "apply_limits",
    "kill_tree",
    "run_cold",
    "without_settings",
}
_ARNS = {
    "check_name",
    "execution_arn",
    "is_express_arn",
    "parse_execution_arn",
    "parse_state_machine_arn",
    "state_machine_arn",
}
__getattr__, __dir__ = exports(
    __name__,
    {n: "._arns" if n in _ARNS else "._calls" if n in _CALLS else "._entities" for n in __all__},
)
