"""Requests and resources of the pipelines API (the SDK and CLI send the same models).

Times are milliseconds since the epoch; inputs and outputs are JSON texts, as Step Functions
passes them (a definition may also be given as a JSON object: it is stored as text).
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from dockyard.api.pipelines._arns import check_name
from dockyard.errors import InvalidArgument

__all__ = [
    "Diagnostic",
    "Execution",
    "ExecutionList",
    "ExecutionStatus",
    "ExecutionSummary",
    "History",
    "HistoryEvent",
    "MachineType",
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
]

#: Step Functions' limits: 1 MiB of definition, 256 KiB of input or output.
MAX_DEFINITION = 1024 * 1024
MAX_PAYLOAD = 256 * 1024


def _named(value: str) -> str:
    try:
        return check_name(value)
    except InvalidArgument as exc:
        raise ValueError(exc.message) from None


Name = Annotated[str, AfterValidator(_named)]

#: Step Functions' limit on a state machine's tags.
MAX_TAGS = 50


_TAG_SYMBOLS = frozenset("_.:/=+-@")


def _tag_text(text: str, what: str) -> None:
    """AWS's rule for tag keys and values: letters, numbers and spaces of any script, and
    ``_ . : / = + - @``."""
    for at, char in enumerate(text):
        if char not in _TAG_SYMBOLS and unicodedata.category(char)[0] not in "LNZ":
            raise ValueError(
                f"{what} {text[:128]!r}: {char!r} at {at} is not allowed (letters, numbers, "
                "spaces and _ . : / = + - @)"
            )


def _tags_as_aws_allows(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise ValueError(f"{len(tags)} tags; at most {MAX_TAGS}")
    for key, value in tags.items():
        if key.lower().startswith("aws:"):
            raise ValueError(f"tag key {key!r}: the prefix 'aws:' is reserved")
        _tag_text(key, "tag key")
        _tag_text(value, f"tag {key!r}'s value")
    return tags


#: A resource's tags, as Step Functions limits them: keys of 1-128 characters (not ``aws:``),
#: values of at most 256, both of the characters :func:`_tag_text` allows.
Tags = Annotated[
    dict[
        Annotated[str, StringConstraints(min_length=1, max_length=128)],
        Annotated[str, StringConstraints(max_length=256)],
    ],
    AfterValidator(_tags_as_aws_allows),
]


def _within_payload_limit(text: str) -> str:
    """Step Functions counts a payload's UTF-8 bytes, not its characters."""
    if len(text) * 4 > MAX_PAYLOAD and len(text.encode()) > MAX_PAYLOAD:
        raise ValueError(
            f"{len(text.encode())} bytes of UTF-8; at most {MAX_PAYLOAD} bytes (256 KiB)"
        )
    return text


Text = Annotated[str, AfterValidator(_within_payload_limit)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _as_text(value: Any) -> Any:
    """A JSON object or list given where JSON text is expected, as text."""
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return value


class MachineType(StrEnum):
    STANDARD = "STANDARD"
    EXPRESS = "EXPRESS"


class ExecutionStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"
    PENDING_REDRIVE = "PENDING_REDRIVE"

    @property
    def is_terminal(self) -> bool:
        return self not in (ExecutionStatus.RUNNING, ExecutionStatus.PENDING_REDRIVE)


class StateMachineConfig(_Model):
    """A new state machine: its name and definition (Amazon States Language, JSON)."""

    name: Name
    definition: Annotated[str, StringConstraints(min_length=1, max_length=MAX_DEFINITION)]
    role_arn: Annotated[str, StringConstraints(max_length=256)] = ""
    type: MachineType = MachineType.STANDARD
    description: Annotated[str, StringConstraints(max_length=256)] = ""
    tags: Tags = Field(default_factory=dict)

    _text = field_validator("definition", mode="before")(classmethod(lambda cls, v: _as_text(v)))


class Tagging(_Model):
    """Tags to add to a state machine, or whose values to change."""

    tags: Tags


class StateMachineUpdate(_Model):
    """What changes: the definition, the role or both."""

    definition: (
        Annotated[str, StringConstraints(min_length=1, max_length=MAX_DEFINITION)] | None
    ) = None
    role_arn: Annotated[str, StringConstraints(max_length=256)] | None = None
    description: Annotated[str, StringConstraints(max_length=256)] | None = None

    _text = field_validator("definition", mode="before")(classmethod(lambda cls, v: _as_text(v)))


class _Machine(_Model):
    name: str
    arn: str
    type: MachineType
    created_time: int


class StateMachineSummary(_Machine):
    """A state machine in a listing; the native API's, asked with ``activity``, also says how
    it has been running: ``last_execution`` (its newest, None before the first) and
    ``running`` (how many run now). Step Functions' ListStateMachines has neither."""

    last_execution: ExecutionSummary | None = None
    running: int | None = None


class StateMachine(_Machine):
    definition: str
    role_arn: str
    description: str
    revision_id: str
    status: str = "ACTIVE"
    updated_time: int
    created_by: str


class StateMachineList(_Model):
    state_machines: list[StateMachineSummary]
    next_page_token: str | None = None
    next_token: str | None = None  # the same token, for clients older than next_page_token


class ValidateDefinition(_Model):
    definition: Annotated[str, StringConstraints(min_length=1, max_length=MAX_DEFINITION)]

    _text = field_validator("definition", mode="before")(classmethod(lambda cls, v: _as_text(v)))


class Diagnostic(_Model):
    """One problem of a definition: ``location`` is a JSON pointer (``/States/Train/Next``)."""

    severity: str = "ERROR"
    code: str = "SCHEMA_VALIDATION_FAILED"
    message: str
    location: str = ""


class Validation(_Model):
    result: str  # OK | FAIL
    diagnostics: list[Diagnostic] = Field(default_factory=list)


class StartExecution(_Model):
    """Start an execution; ``name`` defaults to a random one; ``input`` is JSON text."""

    name: Name | None = None
    input: Text = "{}"

    _text = field_validator("input", mode="before")(classmethod(lambda cls, v: _as_text(v)))


class StartedExecution(_Model):
    execution_arn: str
    start_time: int


class ExecutionSummary(_Model):
    arn: str
    state_machine_arn: str
    name: str
    status: ExecutionStatus
    start_time: int
    stop_time: int | None = None
    redrive_count: int = 0


class Execution(ExecutionSummary):
    input: str
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    redrive_time: int | None = None
    revision_id: str


class ExecutionList(_Model):
    executions: list[ExecutionSummary]
    next_page_token: str | None = None
    next_token: str | None = None  # the same token, for clients older than next_page_token


class HistoryEvent(_Model):
    """One event of an execution's history, in Step Functions' shape (``details`` holds the
    event's detail object under AWS's key, such as ``stateEnteredEventDetails``)."""

    id: int
    previous_event_id: int
    type: str
    time: int
    details: dict[str, Any] = Field(default_factory=dict)


class History(_Model):
    events: list[HistoryEvent]
    next_page_token: str | None = None
    next_token: str | None = None  # the same token, for clients older than next_page_token


class StopExecution(_Model):
    error: Annotated[str, StringConstraints(max_length=256)] | None = None
    cause: Annotated[str, StringConstraints(max_length=32768)] | None = None


class TaskSuccess(_Model):
    task_token: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    output: Text

    _text = field_validator("output", mode="before")(classmethod(lambda cls, v: _as_text(v)))


class TaskFailure(_Model):
    task_token: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    error: Annotated[str, StringConstraints(max_length=256)] | None = None
    cause: Annotated[str, StringConstraints(max_length=32768)] | None = None


class TaskHeartbeat(_Model):
    task_token: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
