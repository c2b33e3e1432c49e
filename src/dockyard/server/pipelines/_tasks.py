"""Task integrations: what a Task state's ``Resource`` does, looked up in one table.

A resource string is a base and an integration pattern, as in Step Functions::

    arn:aws:states:::sagemaker:createTrainingJob.sync   base + ".sync"   (wait for the job)
    dockyard:train.sync                                 the same, Dockyard's spelling
    arn:aws:states:::sns:publish.waitForTaskToken       base + callback  (wait for SendTask*)
    arn:aws:lambda:us-east-1:0:function:score           a function, answered when it returns

:class:`Integrations` maps bases to :class:`Integration` objects (exact names, then prefixes
such as ``dockyard:function:``); :meth:`Integrations.check` refuses an unknown resource when a
state machine is created, naming the state. An integration's :meth:`~Integration.start` answers
at once (:class:`Succeeded` / :class:`Failed`), or with :class:`Waiting` on a handle (a job's
name) that :meth:`~Integration.poll` looks at later, or with :class:`InBackground` work the
engine loop runs on a worker thread (a function call). ``start`` must be safe to call again for
the same task (a crash between starting and recording it): integrations name what they create
from :attr:`TaskCall.key`, so a second start finds the first's work and waits on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dockyard.errors import InvalidArgument
from dockyard.server.actor import Actor

__all__ = [
    "BaseIntegration",
    "Failed",
    "InBackground",
    "Integration",
    "Integrations",
    "Outcome",
    "Succeeded",
    "TaskCall",
    "Waiting",
    "split_resource",
    "task_resources",
    "work_name",
]

SYNC = "sync"
TOKEN = "token"
REQUEST = "request"


@dataclass(frozen=True)
class TaskCall:
    """One task to carry out."""

    key: str  # <execution arn>:<task id>: names what the task creates
    execution_arn: str
    state_name: str
    resource: str
    base: str
    mode: str  # request | sync | token
    payload: Any
    actor: Actor  # the execution's owner: tasks act with its permissions
    token: str | None = None


@dataclass(frozen=True)
class Succeeded:
    output: Any


@dataclass(frozen=True)
class Failed:
    error: str
    cause: str | None = None


@dataclass(frozen=True)
class Waiting:
    """Started; ``handle`` is what :meth:`Integration.poll` looks at (None: a callback)."""

    handle: str | None = None


@dataclass(frozen=True)
class InBackground:
    """Work to run on a worker thread; it returns the outcome."""

    run: Callable[[], Succeeded | Failed] = field(compare=False)


Outcome = Succeeded | Failed | Waiting | InBackground


class Integration(Protocol):
    """What one kind of resource does (see the module docstring)."""

    modes: frozenset[str]

    def check(self, base: str, payload: Any) -> None:
        """Refuse, at create time, what can never run (an unknown function name)."""

    def start(self, call: TaskCall) -> Outcome: ...

    def poll(self, call: TaskCall, handle: str) -> Succeeded | Failed | None:
        """The outcome once the work ``handle`` names has ended; None while it runs."""

    def cancel(self, call: TaskCall, handle: str) -> None:
        """Stop the work ``handle`` names (an execution stopped, a task timed out)."""


class BaseIntegration:
    """Defaults for an integration that checks nothing at create time and waits on nothing."""

    modes: frozenset[str] = frozenset({REQUEST, TOKEN})

    def check(self, base: str, payload: Any) -> None:
        return None

    def poll(self, call: TaskCall, handle: str) -> Succeeded | Failed | None:
        return None

    def cancel(self, call: TaskCall, handle: str) -> None:
        return None


SCHEMA = "SCHEMA_VALIDATION_FAILED"


#: How each integration pattern is written, for messages.
_PATTERNS = {REQUEST: "a request", SYNC: ".sync", TOKEN: ".waitForTaskToken"}
_ORDER = [REQUEST, SYNC, TOKEN]


def require(payload: Any, what: str, *fields: tuple[str, ...]) -> None:
    """Refuse, at create time, a task's parameters that lack what its call needs: each of
    ``fields`` names the keys one of which must be given, as a value or a path (``Name`` or
    ``Name.$``). Parameters left out (the state's input is the request) and JSONata
    ``Arguments`` computed as a whole are checked when the task runs."""
    if not isinstance(payload, Mapping):
        return
    for keys in fields:
        if not any(key in payload or f"{key}.$" in payload for key in keys):
            raise InvalidArgument(
                f"{what} needs {' or '.join(keys)} in its parameters", field="Parameters"
            )


def split_resource(resource: str) -> tuple[str, str]:
    """The base and integration pattern of ``resource``."""
    if resource.endswith(".waitForTaskToken"):
        return resource[: -len(".waitForTaskToken")], TOKEN
    for suffix in (".sync:2", ".sync"):
        if resource.endswith(suffix):
            return resource[: -len(suffix)], SYNC
    return resource, REQUEST


def work_name(prefix: str, key: str) -> str:
    """A job or resource name for task ``key``: the same for the same task, so a second start
    finds the first's work (job names: 63 characters, letters, digits and ``-``)."""
    return f"{prefix[:40]}-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


class Integrations:
    """The resource table: exact bases, then prefixes (longest first)."""

    def __init__(self) -> None:
        self._exact: dict[str, Integration] = {}
        self._prefixes: list[tuple[str, Integration]] = []

    def add(self, integration: Integration, *bases: str, prefixes: tuple[str, ...] = ()) -> None:
        for base in bases:
            self._exact[base] = integration
        self._prefixes += [(p, integration) for p in prefixes]
        self._prefixes.sort(key=lambda item: -len(item[0]))

    def close(self) -> None:
        """Let go of what integrations hold (the functions' warm process)."""
        seen = [*self._exact.values(), *(i for _, i in self._prefixes)]
        for integration in {id(i): i for i in seen}.values():
            close = getattr(integration, "close", None)
            if close is not None:
                close()

    def resolve(self, resource: str) -> tuple[Integration, str, str] | None:
        """The integration of ``resource``, its base and its pattern; None when unknown."""
        base, mode = split_resource(resource)
        found = self._of(base)
        if found is None or mode not in found.modes:
            return None
        return found, base, mode

    def _of(self, base: str) -> Integration | None:
        found = self._exact.get(base)
        if found is None:
            found = next((i for p, i in self._prefixes if base.startswith(p)), None)
        return found

    def problems(self, definition: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
        """Each Task whose resource nothing here runs (or whose integration refuses its
        parameters), and each Map reading its items from S3 (ItemReader), as its JSON pointer,
        a message naming the state and ValidateStateMachineDefinition's code for it
        (``INVALID_RESOURCE`` for a resource, else ``SCHEMA_VALIDATION_FAILED``). It walks
        whatever the definition holds (its other problems are the core's), so it reports
        alongside them."""
        for path, name, state in all_states(definition):
            if state.get("Type") == "Map" and "ItemReader" in state:
                yield (
                    f"{path}/ItemReader",
                    f"state {name!r}: ItemReader (a Map reading its items from S3) is not run "
                    "here: pass the items in the state's input (ItemsPath, or Items)",
                    SCHEMA,
                )
            if state.get("Type") != "Task":
                continue
            resource = state.get("Resource")
            if not isinstance(resource, str) or "{%" in resource or resource.startswith("$"):
                continue  # computed at run time (JSONata, a path): checked when it runs
            resolved = self.resolve(resource)
            base, mode = split_resource(resource)
            known = self._of(base)
            if resolved is None and known is not None:  # a resource run another way
                runs = ", ".join(_PATTERNS[m] for m in sorted(known.modes, key=_ORDER.index))
                yield (
                    f"{path}/Resource",
                    f"state {name!r}: {base!r} does not run as {_PATTERNS[mode]} "
                    f"(it runs as {runs})",
                    "INVALID_RESOURCE",
                )
                continue
            if resolved is None:
                yield (
                    f"{path}/Resource",
                    f"state {name!r}: unknown resource {resource!r} (Dockyard runs "
                    "dockyard:train, dockyard:transform, dockyard:function:NAME, Lambda "
                    "functions, SageMaker training, transform and tuning jobs, models, "
                    "endpoint configs and endpoints, sns:publish, "
                    "ssm get/putParameter; patterns .sync and .waitForTaskToken)",
                    "INVALID_RESOURCE",
                )
                continue
            integration, base, _ = resolved
            payload = state.get("Parameters", state.get("Arguments"))
            try:
                integration.check(base, payload)
            except InvalidArgument as exc:
                if exc.field is None:  # the resource itself (a function nothing registers)
                    yield f"{path}/Resource", f"state {name!r}: {exc.message}", "INVALID_RESOURCE"
                else:
                    where = f"{path}/{'Arguments' if 'Arguments' in state else 'Parameters'}"
                    yield where, f"state {name!r}: {exc.message}", SCHEMA


def task_resources(
    definition: Mapping[str, Any], path: str = ""
) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """Every Task state of ``definition`` with its JSON pointer, in branches and Maps too."""
    for here, name, state in all_states(definition, path):
        if state.get("Type") == "Task":
            yield here, name, state


def all_states(
    definition: Mapping[str, Any], path: str = ""
) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """Every state of ``definition`` with its JSON pointer, in branches and Maps too."""
    states = definition.get("States")
    if not isinstance(states, Mapping):
        return
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        here = f"{path}/States/{name}"
        yield here, str(name), state
        branches = state.get("Branches")
        for i, branch in enumerate(branches if isinstance(branches, list) else []):
            if isinstance(branch, Mapping):
                yield from all_states(branch, f"{here}/Branches/{i}")
        for key in ("ItemProcessor", "Iterator"):
            inner = state.get(key)
            if isinstance(inner, Mapping):
                yield from all_states(inner, f"{here}/{key}")
