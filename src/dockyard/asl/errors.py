"""The errors a state raises while it runs, named as Step Functions names them.

A :class:`StatesError` never leaves the interpreter: it is the signal a state sends to the
error handling (Retry, Catch, then failing the branch or the execution), carrying the error
name and cause a user sees in the history and in ``$.Error`` / ``$.Cause``.

Two errors are terminal, as AWS documents: ``States.Runtime`` (a path that selects nothing, a
value of the wrong kind where a state reads one), which no Retry or Catch matches, and
``States.DataLimitExceeded`` (a payload over 256 KiB), which ``States.ALL`` and
``States.TaskFailed`` do not match: only a Retrier or Catcher that names it takes it. A Task's
work answering over the limit (a Lambda function's result) is the task's failure, recorded as
one, and matched as any error the task reports, as AWS records it.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ALL",
    "BRANCH_FAILED",
    "DATA_LIMIT_EXCEEDED",
    "EXCEED_TOLERATED_FAILURE_THRESHOLD",
    "HEARTBEAT_TIMEOUT",
    "INTRINSIC_FAILURE",
    "NO_CHOICE_MATCHED",
    "QUERY_EVALUATION_ERROR",
    "RESULT_PATH_MATCH_FAILURE",
    "RUNTIME",
    "TASK_FAILED",
    "TERMINAL",
    "TIMEOUT",
    "StatesError",
    "decorated",
    "runtime",
]

ALL: Final = "States.ALL"
TASK_FAILED: Final = "States.TaskFailed"
TIMEOUT: Final = "States.Timeout"
HEARTBEAT_TIMEOUT: Final = "States.HeartbeatTimeout"
RUNTIME: Final = "States.Runtime"
DATA_LIMIT_EXCEEDED: Final = "States.DataLimitExceeded"
RESULT_PATH_MATCH_FAILURE: Final = "States.ResultPathMatchFailure"
INTRINSIC_FAILURE: Final = "States.IntrinsicFailure"
QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"
EXCEED_TOLERATED_FAILURE_THRESHOLD: Final = "States.ExceedToleratedFailureThreshold"
BRANCH_FAILED: Final = "States.BranchFailed"
NO_CHOICE_MATCHED: Final = "States.NoChoiceMatched"

TERMINAL: Final = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})


class StatesError(Exception):
    """A state failed with ``error`` (a Step Functions error name) and a human ``cause``.

    ``decorate`` asks the interpreter to prefix the cause with the state and the id of the event
    that entered it, as AWS words its own runtime errors ("An error occurred while executing
    the state 'X' (entered at the event id #2). ...").
    """

    def __init__(
        self,
        error: str,
        cause: str | None = None,
        *,
        decorate: bool = False,
        task: bool = False,
        relayed: bool = False,
    ) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause
        self.decorate = decorate
        # a Parallel's branch or a Map's iteration failed with it: its cause already names the
        # state inside that failed, and the Parallel or Map passes it on as it is
        self.relayed = relayed
        # the Task's work reported it (a TaskFailed or LambdaFunctionFailed event): a task's
        # failure, which States.ALL takes whatever its name
        self.task = task


def decorated(error: StatesError) -> bool:
    """Whether the history words ``error``'s cause with the state's name: the interpreter's own
    runtime errors say so; an intrinsic's or a JSONata expression's failure always does; one
    a branch or an iteration passes on already did, inside."""
    if error.relayed:
        return False
    return error.decorate or error.error in (RUNTIME, QUERY_EVALUATION_ERROR)


def runtime(cause: str) -> StatesError:
    """A ``States.Runtime`` error, worded with the state's name when it reaches the history."""
    return StatesError(RUNTIME, cause, decorate=True)
