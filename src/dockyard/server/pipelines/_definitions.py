"""Checking a definition before it is stored: the core's parse and validation rules, then the
shell's own (every Task resource is one this server runs)."""

from __future__ import annotations

from typing import Any

from dockyard.api.pipelines import Diagnostic, Validation
from dockyard.errors import InvalidArgument
from dockyard.server.pipelines._core import Core, Problem
from dockyard.server.pipelines._errors import InvalidDefinition
from dockyard.server.pipelines._tasks import Integrations

__all__ = ["ParsedDefinitions", "check_definition", "diagnose", "validation"]

_SHOWN = 10


def diagnose(
    core: Core, integrations: Integrations, text: str
) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The parsed definition and its problems (none: valid)."""
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
        Diagnostic(message=message, location=location)
        for location, message in integrations.problems(definition)
    ]
    problems.sort(key=lambda p: (p.severity != "ERROR", p.location))
    return definition, problems


def _diagnostic(problem: Problem) -> Diagnostic:
    return Diagnostic(
        severity=problem.severity,
        code=problem.code,
        message=problem.message,
        location=problem.path,
    )


def check_definition(core: Core, integrations: Integrations, text: str) -> dict[str, Any]:
    """The parsed definition; InvalidDefinition naming each problem's place otherwise."""
    definition, problems = diagnose(core, integrations, text)
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


def validation(core: Core, integrations: Integrations, text: str) -> Validation:
    _, problems = diagnose(core, integrations, text)
    failed = any(p.severity == "ERROR" for p in problems)
    return Validation(result="FAIL" if failed else "OK", diagnostics=problems)


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

    def get(self, arn: str, revision_id: str, text: str) -> dict[str, Any]:
        key = (arn, revision_id)
        found = self._found.get(key)
        if found is None:
            found = self.core.parse(text)
            if len(self._found) >= self._size:
                self._found.pop(next(iter(self._found)), None)
            self._found[key] = found
        return found
