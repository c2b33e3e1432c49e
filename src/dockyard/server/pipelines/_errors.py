"""The pipeline errors that have a name of their own in Step Functions; each is one of
:mod:`dockyard.errors`' classes, so the native API answers with its status and the AWS adapter
(:mod:`dockyard.server.compat.aws`) with AWS's ``__type`` (its ``code`` in CamelCase)."""

from __future__ import annotations

from dockyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound

__all__ = [
    "ExecutionExists",
    "ExecutionMissing",
    "ExecutionNotRedrivable",
    "InvalidDefinition",
    "InvalidToken",
    "StateMachineExists",
    "StateMachineMissing",
    "TaskMissing",
]


class StateMachineMissing(NotFound):
    code = "state_machine_does_not_exist"


class ExecutionMissing(NotFound):
    code = "execution_does_not_exist"


class TaskMissing(NotFound):
    """No open task has this token (it ended, timed out, or never existed)."""

    code = "task_does_not_exist"


class StateMachineExists(AlreadyExists):
    code = "state_machine_already_exists"


class ExecutionExists(AlreadyExists):
    code = "execution_already_exists"


class ExecutionNotRedrivable(Conflict):
    code = "execution_not_redrivable"


class InvalidDefinition(InvalidArgument):
    code = "invalid_definition"


class InvalidToken(InvalidArgument):
    code = "invalid_token"
