"""The notebook-style tracking API: ``dy.start_run()``, ``dy.log_metric()``, ``dy.get_run()``."""

from __future__ import annotations

import contextlib
import getpass
import operator
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from dockyard.api.tracking import (
    CreateExperiment,
    CreateRun,
    Experiment,
    LogBatch,
    Run,
    RunStatus,
    UpdateRun,
    validate_key,
)
from dockyard.client.http import from_answer, routes
from dockyard.client.sdk._context import context
from dockyard.client.sdk._requests import build_request
from dockyard.errors import DockyardError, InvalidArgument
from dockyard.limits import LIMITS

__all__ = [
    "ActiveRun",
    "active_run",
    "end_run",
    "get_run",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
]

_checked_keys: set[str] = set()


def _key(key: str) -> str:
    # Validating every call would cost more than the append; a key is checked once per process.
    if key not in _checked_keys:
        if not isinstance(key, str) or not key or len(key) > LIMITS.key_length:
            raise InvalidArgument(
                f"invalid metric key {key!r}: 1 to {LIMITS.key_length} characters", field="key"
            )
        try:
            validate_key(key)
        except ValueError as exc:
            raise InvalidArgument(str(exc), field="key") from exc
        _checked_keys.add(key)
    return key


class ActiveRun:
    """The run returned by :func:`start_run`; ends the run when its ``with`` block exits."""

    def __init__(self, run: Run) -> None:
        self._run = run

    @property
    def info(self) -> Any:
        return self._run.info

    @property
    def run_id(self) -> str:
        return self._run.info.run_id

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        if self.run_id in context().run_stack:
            end_run(status)

    def __repr__(self) -> str:
        return f"<ActiveRun {self._run.info.run_name} ({self.run_id})>"


def set_experiment(name: str | None = None, *, experiment_id: str | None = None) -> Experiment:
    """Make an experiment current for new runs, creating it by name if it does not exist."""
    ctx = context()
    if (name is None) == (experiment_id is None):
        raise InvalidArgument("give exactly one of name or experiment_id", field="name")
    if experiment_id is not None:
        experiment = from_answer(
            Experiment, ctx.client.call(routes.GET_EXPERIMENT(experiment_id=experiment_id))
        )
    else:
        assert name is not None
        build_request(CreateExperiment, name=name)  # a bad name fails here, as the server would say
        # Get or create is the server's rule, in one request: no race between two processes.
        experiment = from_answer(Experiment, ctx.client.call(routes.ENSURE_EXPERIMENT(name=name)))
    if experiment.lifecycle_stage != "active":
        raise InvalidArgument(
            f"experiment {experiment.name!r} is deleted: restore it (dockyard experiments "
            f"restore {experiment.experiment_id}, or the web UI's Deleted experiments) or pick "
            "another name",
            field="name",
        )
    ctx.experiment_id = experiment.experiment_id
    return experiment


def _source_tags() -> dict[str, str]:
    tags = {"mlflow.user": getpass.getuser(), "mlflow.source.type": "LOCAL"}
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name:
        tags["mlflow.source.name"] = str(script)
    folder = script.resolve().parent if script is not None and script.exists() else Path.cwd()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if commit.returncode == 0:
            tags["mlflow.source.git.commit"] = commit.stdout.strip()
            status = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
            tags["dockyard.source.git.dirty"] = "true" if status.stdout.strip() else "false"
    except (OSError, subprocess.SubprocessError):
        pass  # no git here: the run simply has no code version
    return tags


def start_run(
    run_id: str | None = None,
    *,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it active; use it as a context manager.

    With a run already active, pass ``nested=True`` to start a child of it. A process started for
    a training job (``DOCKYARD_RUN_ID`` set) resumes the job's run when no id is given; that
    run's status belongs to the job (see :func:`end_run`).
    """
    ctx = context()
    if ctx.run_stack and not nested and run_id is None:
        raise InvalidArgument(
            f"run {ctx.run_stack[-1]} is already active; end it first or pass nested=True",
            field="nested",
        )
    run_id = run_id or (ctx.settings.run_id if not ctx.run_stack else None)
    if run_id is not None:
        run = from_answer(Run, ctx.client.call(routes.GET_RUN(run_id=run_id)))
        if run.info.status is not RunStatus.RUNNING and run_id != ctx.settings.run_id:
            running = UpdateRun(status=RunStatus.RUNNING)
            ctx.client.call(routes.UPDATE_RUN(run_id=run_id), running)
    else:
        parent = parent_run_id or (ctx.run_stack[-1] if nested and ctx.run_stack else None)
        all_tags = {**_source_tags(), **dict(tags or {})}
        body = build_request(
            CreateRun,
            experiment_id=experiment_id or ctx.experiment_id or "0",
            run_name=run_name,
            user_id=all_tags.get("mlflow.user", ""),
            parent_run_id=parent,
            tags=[{"key": k, "value": str(v)} for k, v in all_tags.items()],
        )
        run = from_answer(Run, ctx.client.call(routes.CREATE_RUN(), body))
    ctx.run_stack.append(run.info.run_id)
    return ActiveRun(run)


def active_run() -> str | None:
    """The id of the innermost active run, if any."""
    stack = context().run_stack
    return stack[-1] if stack else None


def _current_run() -> str:
    ctx = context()
    if not ctx.run_stack:
        start_run()
    return ctx.run_stack[-1]


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    """Flush buffered metrics and end the innermost active run.

    The run of the job this process runs in (``DOCKYARD_RUN_ID``) is only flushed and made
    inactive here: the job's final status decides the run's, once the job has finished (a
    script that exits 0 can still fail its job, say when its model does not upload).

    Raises:
        Unavailable: The server stayed away longer than the client's retry window; the error
            says how many metric points were not logged (``details["metrics_not_logged"]``).
    """
    ctx = context()
    if not ctx.run_stack:
        return
    run_id = ctx.run_stack[-1]
    status = RunStatus(status)
    ended = UpdateRun(status=status)
    ends = run_id != ctx.settings.run_id
    try:
        ctx.sender.flush()
    except DockyardError:
        ctx.run_stack.pop()
        if ends:
            # One attempt, not another retry window: the server is likely still away, and the
            # error to raise is the flush's, which counts the points that were not logged.
            with contextlib.suppress(DockyardError):
                ctx.client.call(routes.UPDATE_RUN(run_id=run_id), ended, retry_for=0)
        raise
    ctx.run_stack.pop()
    if ends:
        ctx.client.call(routes.UPDATE_RUN(run_id=run_id), ended)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Log one metric point; delivered in the background in batches."""
    ctx = context()
    run_id = ctx.run_stack[-1] if ctx.run_stack else _current_run()
    # Checked here, not in the background: a bad point would fail the batch it travels in.
    ctx.sender.add(
        (
            run_id,
            _key(key),
            value if type(value) is float else _value(key, value),
            time.time_ns() // 1_000_000
            if timestamp is None
            else _integer(key, "timestamp", timestamp, 0),
            0 if step is None else _integer(key, "step", step, _INT64_MIN),
        )
    )


def _value(key: str, value: Any) -> float:
    if not isinstance(value, str | bytes):
        with contextlib.suppress(TypeError, ValueError):
            return float(value)
    raise InvalidArgument(
        f"metric {key!r}: the value must be a number, not {type(value).__name__} {value!r}",
        field="value",
    )


#: What the server stores a step or a timestamp as (a 64-bit integer).
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _integer(key: str, name: str, value: Any, lowest: int) -> int:
    """``value`` as an integer the server can store: a point it would refuse fails here, at
    the call, and not later in the background with the good points that share its batch."""
    try:
        number = value if type(value) is int else operator.index(value)
    except TypeError:
        raise InvalidArgument(
            f"metric {key!r}: the {name} must be an integer, not {type(value).__name__} {value!r}",
            field=name,
        ) from None
    if not lowest <= number <= _INT64_MAX:
        raise InvalidArgument(
            f"metric {key!r}: the {name} must be between {lowest} and {_INT64_MAX}, not {number}",
            field=name,
        )
    return number


def _mapping(function: str, what: Any) -> Mapping[str, Any]:
    if not isinstance(what, Mapping):
        raise InvalidArgument(
            f"{function} takes a mapping of names to values, not {type(what).__name__}"
        )
    return what


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log several metrics at the same step and time."""
    ts = time.time_ns() // 1_000_000
    for key, value in _mapping("log_metrics", metrics).items():
        log_metric(key, value, step, ts)


def _batch(**parts: list[dict[str, str]]) -> None:
    ctx = context()
    run_id = _current_run()
    import uuid

    # The batch id makes a repeat after a lost answer harmless (the route is idempotent).
    body = build_request(LogBatch, batch_id=uuid.uuid4().hex, **parts)
    ctx.client.call(routes.LOG_BATCH(run_id=run_id), body)


def log_param(key: str, value: Any) -> None:
    """Log a param (stored as a string; immutable once logged)."""
    log_params({key: value})


def log_params(params: Mapping[str, Any]) -> None:
    """Log several params at once."""
    items = [{"key": k, "value": str(v)} for k, v in _mapping("log_params", params).items()]
    step = LIMITS.batch_params
    for start in range(0, len(items), step):
        _batch(params=items[start : start + step])


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run (overwrites)."""
    set_tags({key: value})


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active run."""
    items = [{"key": k, "value": str(v)} for k, v in _mapping("set_tags", tags).items()]
    step = LIMITS.batch_tags
    for start in range(0, len(items), step):
        _batch(tags=items[start : start + step])


def get_run(run_id: str) -> Run:
    """A run with its params, latest metrics, tags and inputs."""
    return from_answer(Run, context().client.call(routes.GET_RUN(run_id=run_id)))
