"""Pipelines: Amazon States Language state machines whose tasks are Dockyard actions, run
durably by the server and spoken to through the native API and Step Functions' own.

Layout::

    _core.py          the seam over the pure interpreter (dockyard.asl): start, advance, redrive
    _engine.py        one transition = one transaction: snapshot, history, effects, events
    _repository.py    SQL for state machines, executions, history, tasks, timers
    _service.py       the rules: create / update / start / stop / redrive / callbacks
    _definitions.py   a definition checked at create time (the core's rules, then resources)
    _tasks.py         the integration contract and the resource table
    _task_*.py        integrations: jobs, functions, topics and parameters, models, endpoints
    _catalog.py       the table this server runs
    _runner.py        carrying effects out: start, poll, cancel tasks; fire timers
    _loop.py          the leader-locked engine loop
    _doorbell.py      other processes' transitions wake the leading loop

How an execution moves: a request (StartExecution, SendTaskSuccess, StopExecution) or the loop
(a timer due, a job ended, a function returned) calls :meth:`Engine.feed` with completions;
the engine locks the execution's row, lets the core compute the next step, and commits the new
snapshot, the numbered history events, the effects (task rows claimed by
``<execution arn>:<task id>``, timer rows) and ``pipeline.execution.*`` events together. The
loop then carries out what the rows say. A server killed at any point resumes from the last
committed transition: a scheduled task starts, a started job is waited on by name (never
submitted twice), a due timer fires.

The API's requests and resources are in :mod:`dockyard.api.pipelines`; the Step Functions
adapter is :mod:`dockyard.server.compat.aws`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.pipelines._catalog import catalog
    from dockyard.server.pipelines._core import Core, load_core
    from dockyard.server.pipelines._engine import WORK, Engine
    from dockyard.server.pipelines._errors import (
        InvalidDefinition,
        StateMachineMissing,
        TooManyTags,
    )
    from dockyard.server.pipelines._loop import PipelineEngine
    from dockyard.server.pipelines._runner import TaskRunner
    from dockyard.server.pipelines._service import PipelineService

__all__ = [
    "WORK",
    "Core",
    "Engine",
    "InvalidDefinition",
    "PipelineEngine",
    "PipelineService",
    "StateMachineMissing",
    "TaskRunner",
    "TooManyTags",
    "catalog",
    "load_core",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "Core": "._core",
        "Engine": "._engine",
        "WORK": "._engine",
        "InvalidDefinition": "._errors",
        "PipelineEngine": "._loop",
        "PipelineService": "._service",
        "StateMachineMissing": "._errors",
        "TaskRunner": "._runner",
        "TooManyTags": "._errors",
        "catalog": "._catalog",
        "load_core": "._core",
    },
)
