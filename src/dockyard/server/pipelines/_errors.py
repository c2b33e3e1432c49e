"""The pipeline errors that have a name of their own in Step Functions. Each is one of
:mod:`dockyard.errors`' classes with its code, so the native API and its clients see NotFound,
AlreadyExists...; ``aws`` is the ``__type`` the AWS adapter (:mod:`dockyard.server.compat.aws`)
answers with instead."""

from __future__ import annotations

from typing import ClassVar

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
    "TooManyTags",
]


class StateMachineMissing(NotFound):
    aws: ClassVar[str] = "StateMachineDoesNotExist"


class ExecutionMissing(NotFound):
    aws: ClassVar[str] = "ExecutionDoesNotExist"


class TaskMissing(NotFound):
    """No open task has this token (it ended, timed out, or never existed)."""

    aws: ClassVar[str] = "TaskDoesNotExist"


class StateMachineExists(AlreadyExists):
    aws: ClassVar[str] = "StateMachineAlreadyExists"


class ExecutionExists(AlreadyExists):
    aws: ClassVar[str] = "ExecutionAlreadyExists"


class ExecutionNotRedrivable(Conflict):
    aws: ClassVar[str] = "ExecutionNotRedrivable"


class InvalidDefinition(InvalidArgument):
    aws: ClassVar[str] = "InvalidDefinition"


class TooManyTags(InvalidArgument):
    aws: ClassVar[str] = "TooManyTags"


class InvalidToken(InvalidArgument):
    aws: ClassVar[str] = "InvalidToken"
