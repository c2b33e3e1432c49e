"""The Amazon States Language: Dockyard's pipelines speak it, as AWS Step Functions does.

Pure and shared: no I/O, no clock, no randomness except a seed kept in the execution. The
server's pipeline engine persists what this package returns and carries out its effects.

- ``paths``: JSONPath and reference paths (``$``, ``$$`` context, ``$var`` variables).
- ``dataflow``: InputPath -> Parameters -> ResultSelector -> ResultPath -> OutputPath.
- ``choice``: Choice rules. ``retry``: Retry and Catch matching, back-off.
- ``intrinsics``: ``States.Format(...)`` and the other intrinsic functions (JSONPath mode).
- ``jsonata``: ``"{% expression %}"`` templates (JSONata mode) and Step Functions' functions.
- ``validation``: create-time checks of a definition, AWS's diagnostics with JSON pointers.
- ``errors``: :class:`StatesError`, a state's failure under its ``States.*`` name.
- ``interpreter``: ``start`` / ``advance`` / ``redrive`` over a JSON snapshot, on the machinery
  of ``engine`` and the states in ``states/``; ``effects``: what they ask of the shell and what
  it answers; ``history``: Step Functions' history events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.asl.effects import (
        CancelTask,
        CancelTimer,
        Completion,
        Effect,
        StartTask,
        StartTimer,
        Step,
        StopRequested,
        TaskFailed,
        TaskSucceeded,
        TimerFired,
    )
    from dockyard.asl.errors import StatesError
    from dockyard.asl.history import HistoryEvent
    from dockyard.asl.interpreter import advance, redrive, start
    from dockyard.asl.intrinsics import (
        Intrinsic,
        evaluate_intrinsic,
        is_intrinsic,
        parse_intrinsic,
    )
    from dockyard.asl.jsonata import is_jsonata, resolve_jsonata
    from dockyard.asl.validation import DefinitionInvalid, Problem, parse_definition, validate

__all__ = [
    "CancelTask",
    "CancelTimer",
    "Completion",
    "DefinitionInvalid",
    "Effect",
    "HistoryEvent",
    "Intrinsic",
    "Problem",
    "StartTask",
    "StartTimer",
    "StatesError",
    "Step",
    "StopRequested",
    "TaskFailed",
    "TaskSucceeded",
    "TimerFired",
    "advance",
    "evaluate_intrinsic",
    "is_intrinsic",
    "is_jsonata",
    "parse_definition",
    "parse_intrinsic",
    "redrive",
    "resolve_jsonata",
    "start",
    "validate",
]

__getattr__, __dir__ = exports(
    __name__,
    {
        "CancelTask": ".effects",
        "CancelTimer": ".effects",
        "Completion": ".effects",
        "Effect": ".effects",
        "StartTask": ".effects",
        "StartTimer": ".effects",
        "Step": ".effects",
        "StopRequested": ".effects",
        "TaskFailed": ".effects",
        "TaskSucceeded": ".effects",
        "TimerFired": ".effects",
        "HistoryEvent": ".history",
        "advance": ".interpreter",
        "redrive": ".interpreter",
        "start": ".interpreter",
        # the language's other half: validation, intrinsic functions, JSONata
        "DefinitionInvalid": ".validation",
        "Problem": ".validation",
        "parse_definition": ".validation",
        "validate": ".validation",
        "StatesError": ".errors",
        "Intrinsic": ".intrinsics",
        "evaluate_intrinsic": ".intrinsics",
        "is_intrinsic": ".intrinsics",
        "parse_intrinsic": ".intrinsics",
        "is_jsonata": ".jsonata",
        "resolve_jsonata": ".jsonata",
    },
)
