"""Checking a definition before it is stored: the core's parse and validation rules, then the
shell's own (every Task resource is one this server runs)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from dockyard.api.pipelines import Diagnostic, Validation
from dockyard.errors import InvalidArgument
from dockyard.server.pipelines._core import Core, Problem
from dockyard.server.pipelines._errors import InvalidDefinition
from dockyard.server.pipelines._tasks import Integrations, all_states

__all__ = ["ParsedDefinitions", "check_definition", "diagnose", "runs_briefly", "validation"]

_SHOWN = 10
#: The most states a definition that :func:`runs_briefly` may have.
BRIEF_STATES = 64


def diagnose(
    core: Core, integrations: Integrations, text: str, *, express: bool = False
) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The parsed definition and its problems (none: valid); ``express``: for an EXPRESS
    machine, which waits for no job or callback (as AWS refuses ``.sync`` and
    ``.waitForTaskToken`` there)."""
    try:
        definition = core.parse(text)
    except InvalidArgument as exc:
        # the core's refusal lists its problems (not JSON, duplicate keys, not an object): its
        # message already reads "Invalid State Machine Definition: ...", which the refusal adds
        found = exc.details.get("problems")
        if isinstance(found, list) and found and all(isinstance(p, dict) for p in found):
            return {}, [
                Diagnostic(
                    code=str(p.get("code") or "INVALID_JSON_DESCRIPTION"),
                    message=str(p.get("message") or ""),
                    location=str(p.get("path") or ""),
                )
                for p in found
            ]
        return {}, [Diagnostic(code="INVALID_JSON_DESCRIPTION", message=exc.message)]
    problems = [_diagnostic(p) for p in core.validate(definition)]
    problems += [
        Diagnostic(code=code, message=message, location=location)
        for location, message, code in integrations.problems(definition)
    ]
    if express:
        problems += list(_express_problems(definition))
    problems.sort(key=lambda p: (p.severity != "ERROR", p.location))
    return definition, problems


#: The integration patterns an EXPRESS machine does not support (AWS's rule).
_WAITING_PATTERNS = (".sync", ".sync:2", ".waitForTaskToken")


def _express_problems(definition: Mapping[str, Any]) -> Iterator[Diagnostic]:
    """A Task waiting for a job or a callback, anywhere in ``definition`` (branches and
    iterations included)."""
    for where, _, state in all_states(definition):
        resource = state.get("Resource")
        if state.get("Type") != "Task" or not isinstance(resource, str):
            continue
        pattern = next((p for p in _WAITING_PATTERNS if resource.endswith(p)), None)
        if pattern is not None:
            yield Diagnostic(
                code="SCHEMA_VALIDATION_FAILED",
                message=f"Express state machines do not support the '{pattern}' "
                "integration pattern: create a STANDARD state machine to wait for a job "
                "or a callback",
                location=f"{where}/Resource",
            )


def _diagnostic(problem: Problem) -> Diagnostic:
    return Diagnostic(
        severity=problem.severity,
        code=problem.code,
        message=problem.message,
        location=problem.path,
    )


def check_definition(
    core: Core, integrations: Integrations, text: str, *, express: bool = False
) -> dict[str, Any]:
    """The parsed definition; InvalidDefinition naming each problem's place otherwise."""
    definition, problems = diagnose(core, integrations, text, express=express)
    problems = [p for p in problems if p.severity == "ERROR"]
    if problems:
        shown = "; ".join(
            f"{p.location}: {p.message}" if p.location else f"{p.code}: {p.message}"
            for p in problems[:_SHOWN]
        )
        more = f" (and {len(problems) - _SHOWN} more)" if len(problems) > _SHOWN else ""
        raise InvalidDefinition(
            f"Invalid State Machine Definition: {shown}{more}",
            field=f"definition{problems[0].location.replace('/', '.')}",
            details={"problems": [p.model_dump() for p in problems[:100]]},
        )
    return definition


def validation(
    core: Core, integrations: Integrations, text: str, *, express: bool = False
) -> Validation:
    _, problems = diagnose(core, integrations, text, express=express)
    failed = any(p.severity == "ERROR" for p in problems)
    return Validation(result="FAIL" if failed else "OK", diagnostics=problems)


def runs_briefly(definition: Mapping[str, Any]) -> bool:
    """Whether a step of any execution of ``definition`` enters each state at most once and
    does little in each: at most :data:`BRIEF_STATES` states, no Map or Parallel, no cycle
    through ``Next``, ``Default``, a choice's or a catcher's ``Next``, and no JSONata or
    intrinsic function (either can compute without bound: ``$map([1..2000000], ...)``,
    ``States.ArrayRange``). A start of such a machine is short work (tens of microseconds a
    state, on small data), fit to run on the event loop."""
    states = definition.get("States")
    if not isinstance(states, dict) or len(states) > BRIEF_STATES or _computes(definition):
        return False
    following: dict[str, list[str]] = {}
    for name, state in states.items():
        if not isinstance(state, dict) or state.get("Type") in ("Map", "Parallel"):
            return False
        rules = [
            r for key in ("Choices", "Catch") for r in state.get(key) or () if isinstance(r, dict)
        ]
        targets = [state.get("Next"), state.get("Default"), *(r.get("Next") for r in rules)]
        following[name] = [t for t in targets if isinstance(t, str)]
    done: set[str] = set()
    # depth first, iteratively: a state met again on the path is a cycle
    for start, leads_to in following.items():
        if start in done:
            continue
        path, stack = {start}, [(start, iter(leads_to))]
        while stack:
            name, rest = stack[-1]
            after = next(rest, None)
            if after is None:
                stack.pop()
                path.discard(name)
                done.add(name)
            elif after in path:
                return False
            elif after not in done and after in following:
                path.add(after)
                stack.append((after, iter(following[after])))
    return True


def _computes(value: Any, key: str = "") -> bool:
    """Whether ``value`` (a definition, or part of one) asks for JSONata or an intrinsic
    function anywhere."""
    if isinstance(value, dict):
        if value.get("QueryLanguage") == "JSONata":
            return True
        return any(_computes(v, str(k)) for k, v in value.items())
    if isinstance(value, list):
        return any(_computes(v) for v in value)
    if isinstance(value, str):
        return "{%" in value or (key.endswith(".$") and value.lstrip().startswith("States."))
    return False


class ParsedDefinitions:
    """Parsed definitions by state machine revision, so starting an execution does not parse
    (with its duplicate-key checks) the same text again. A revision's text never changes (an
    update makes a new revision id); the core copies the definition it starts from, so the
    shared dict is never changed. Holds at most ``size`` revisions, dropping the oldest.
    """

    def __init__(self, core: Core, size: int = 256) -> None:
        self.core = core
        self._size = size
        self._found: dict[tuple[str, str], dict[str, Any]] = {}
        self._brief: dict[tuple[str, str], bool] = {}

    def get(self, arn: str, revision_id: str, text: str) -> dict[str, Any]:
        key = (arn, revision_id)
        found = self._found.get(key)
        if found is None:
            found = self.core.parse(text)
            if len(self._found) >= self._size:
                self._found.pop(next(iter(self._found)), None)
            self._found[key] = found
        return found

    def brief(self, arn: str, revision_id: str, text: str) -> bool:
        """Whether the revision :func:`runs_briefly`."""
        key = (arn, revision_id)
        found = self._brief.get(key)
        if found is None:
            found = runs_briefly(self.get(arn, revision_id, text))
            if len(self._brief) >= self._size:
                self._brief.pop(next(iter(self._brief)), None)
            self._brief[key] = found
        return found
