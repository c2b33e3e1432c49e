"""A state machine as graph text: Mermaid (renders in Markdown viewers) or Graphviz DOT.

Parallel branches and Map iterators become subgraphs inside their state; Catch edges are
dashed and labelled with the errors they catch; Choice edges with their rule. ``status``
(``{"Train": "succeeded"}``, nested states as ``"Map/Score"``) colours states, as the web UI
does for an execution.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["containers_of", "render", "status_from_history"]

_COLOURS = {
    "succeeded": "#bbf7d0",
    "failed": "#fecaca",
    "caught": "#fde68a",
    "running": "#bfdbfe",
    "aborted": "#e5e7eb",
}
_COMPARISONS = re.compile(r"^(String|Numeric|Boolean|Timestamp)(\w+?)(Path)?$")
_SYMBOLS = {
    "Equals": "==",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanEquals": "<=",
    "GreaterThanEquals": ">=",
    "Matches": "matches",
}


def rule_text(rule: Mapping[str, Any]) -> str:
    """A Choice rule in a few words: ``$.rmse < 3``, ``not ($.a == "x")``."""
    if "And" in rule:
        return " and ".join(f"({rule_text(r)})" for r in rule["And"])
    if "Or" in rule:
        return " or ".join(f"({rule_text(r)})" for r in rule["Or"])
    if "Not" in rule:
        return f"not ({rule_text(rule['Not'])})"
    if "Condition" in rule:
        return str(rule["Condition"])
    variable = rule.get("Variable", "?")
    for key, value in rule.items():
        if key in ("Variable", "Next"):
            continue
        if key.startswith("Is"):
            return f"{variable} {key[2:].lower()}" if value else f"{variable} not {key[2:].lower()}"
        found = _COMPARISONS.match(key)
        if found:
            symbol = _SYMBOLS.get(found.group(2), found.group(2))
            operand = value if found.group(3) else json.dumps(value)
            return f"{variable} {symbol} {operand}"
    return str(variable)


def _edges(state: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(target, label, style) of each way out of ``state``; style is ``solid`` or ``dashed``."""
    for choice in state.get("Choices", ()):
        if "Next" in choice:
            yield choice["Next"], rule_text(choice), "solid"
    if "Default" in state:
        yield state["Default"], "otherwise", "solid"
    if "Next" in state:
        yield state["Next"], "", "solid"
    for catch in state.get("Catch", ()):
        if "Next" in catch:
            yield catch["Next"], "catch " + ", ".join(catch.get("ErrorEquals", ())), "dashed"


def _inner(state: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if state.get("Type") == "Parallel":
        return list(state.get("Branches", ()))
    if state.get("Type") == "Map":
        inner = state.get("ItemProcessor") or state.get("Iterator")
        return [inner] if inner else []
    return []


class _Ids:
    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        return self.ids.setdefault(path, f"s{len(self.ids)}")


def _quote(text: str) -> str:
    return text.replace('"', "#quot;")


def _mermaid(
    machine: Mapping[str, Any], prefix: str, ids: _Ids, status: Mapping[str, str], out: list[str]
) -> None:
    states: Mapping[str, Any] = machine.get("States", {})
    for name, state in states.items():
        path = prefix + name
        node = ids(path)
        label = _quote(f"{name} ({state.get('Type', '?')})")
        inner = _inner(state)
        if inner:
            out.append(f'  subgraph {node}["{label}"]')
            for i, branch in enumerate(inner):
                sub = f"{path}/{i}/" if state.get("Type") == "Parallel" else f"{path}/"
                _mermaid(branch, sub, ids, status, out)
            out.append("  end")
        elif state.get("Type") == "Choice":
            out.append(f'  {node}{{"{label}"}}')
        elif state.get("Type") in ("Succeed", "Fail"):
            out.append(f'  {node}(["{label}"])')
        else:
            out.append(f'  {node}["{label}"]')
        if path in status and status[path] in _COLOURS:
            out.append(f"  style {node} fill:{_COLOURS[status[path]]}")
    for name, state in states.items():
        for target, label, style in _edges(state):
            arrow = "-.->" if style == "dashed" else "-->"
            text = f'|"{_quote(label)}"|' if label else ""
            out.append(f"  {ids(prefix + name)} {arrow}{text} {ids(prefix + target)}")


def _dot(
    machine: Mapping[str, Any], prefix: str, ids: _Ids, status: Mapping[str, str], out: list[str]
) -> None:
    states: Mapping[str, Any] = machine.get("States", {})
    for name, state in states.items():
        path = prefix + name
        node = ids(path)
        label = json.dumps(f"{name}\n({state.get('Type', '?')})")
        inner = _inner(state)
        fill = _COLOURS.get(status.get(path, ""), "")
        if inner:
            out.append(f"  subgraph cluster_{node} {{ label={label};")
            if fill:
                out.append(f'  style=filled; fillcolor="{fill}";')
            out.append(f"  {node} [label={label} shape=point];")
            for i, branch in enumerate(inner):
                sub = f"{path}/{i}/" if state.get("Type") == "Parallel" else f"{path}/"
                _dot(branch, sub, ids, status, out)
            out.append("  }")
            continue
        shape = {"Choice": "diamond", "Succeed": "doublecircle", "Fail": "octagon"}.get(
            state.get("Type", ""), "box"
        )
        style = f' style=filled fillcolor="{fill}"' if fill else ""
        out.append(f"  {node} [label={label} shape={shape}{style}];")
    for name, state in states.items():
        for target, label, kind in _edges(state):
            attrs = [f"label={json.dumps(label)}"] if label else []
            if kind == "dashed":
                attrs.append("style=dashed")
            suffix = f" [{' '.join(attrs)}]" if attrs else ""
            out.append(f"  {ids(prefix + name)} -> {ids(prefix + target)}{suffix};")


def render(
    definition: Mapping[str, Any], fmt: str = "mermaid", status: Mapping[str, str] | None = None
) -> str:
    """``definition`` as Mermaid (``flowchart TD``) or DOT (``digraph``) text."""
    ids, out = _Ids(), []
    start = definition.get("StartAt", "")
    if fmt == "dot":
        out.append("digraph pipeline {")
        out.append('  node [fontname="Helvetica" fontsize=11];')
        out.append('  start [shape=circle label="" width=0.2 style=filled fillcolor=black];')
        _dot(definition, "", ids, status or {}, out)
        out.append(f"  start -> {ids(start)};")
        out.append("}")
    else:
        out.append("flowchart TD")
        out.append("  start((start))")
        _mermaid(definition, "", ids, status or {}, out)
        out.append(f"  start --> {ids(start)}")
    return "\n".join(out) + "\n"


def containers_of(definition: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """Each state's name -> the names of the Parallel and Map states it is inside."""
    out: dict[str, set[str]] = {}

    def walk(machine: Any, outer: frozenset[str]) -> None:
        states = machine.get("States") if isinstance(machine, Mapping) else None
        for name, state in (states if isinstance(states, Mapping) else {}).items():
            out.setdefault(name, set()).update(outer)
            if not isinstance(state, Mapping):
                continue
            inner = outer | {name}
            if state.get("Type") == "Parallel":
                for branch in state.get("Branches") or []:
                    walk(branch, inner)
            if state.get("Type") == "Map":
                walk(state.get("ItemProcessor") or state.get("Iterator"), inner)

    walk(definition, frozenset())
    return {name: frozenset(found) for name, found in out.items()}


def status_from_history(
    events: list[dict[str, Any]],
    execution_status: str,
    containers: Mapping[str, frozenset[str]] | None = None,
) -> dict[str, str]:
    """Each state's status by name from an execution's history (as the web UI colours it): a
    state entered and not left is running, or failed (aborted) once the execution has; one
    left after a failure inside it was caught, and so was one the execution went on from after
    that failure (a caught state is exited after its failure, or, in a history recorded before
    caught states were, left open as its Catch's target is entered).
    ``containers`` (:func:`containers_of`) keeps a Parallel or Map open while a state inside it
    runs after a failure there (a retry, a Catch inside its branch): that is not going on."""
    status: dict[str, str] = {}
    # Each state entered and not left: no failure inside it (0), one (1), or one the
    # execution went on from (2).
    open_states: dict[str, int] = {}
    for event in events:
        kind, details = event["type"], event.get("details") or {}
        entered = details.get("stateEnteredEventDetails")
        exited = details.get("stateExitedEventDetails")
        if kind.endswith("StateEntered") and entered:
            inside = (containers or {}).get(entered["name"], frozenset())
            open_states = {
                name: 2 if seen and name not in inside else seen
                for name, seen in open_states.items()
            }
            status[entered["name"]] = "running"
            open_states[entered["name"]] = 0
        elif kind.endswith("StateExited") and exited:
            failed_inside = open_states.pop(exited["name"], 0)
            status[exited["name"]] = "caught" if failed_inside else "succeeded"
        elif kind.endswith(("Failed", "TimedOut")) and not kind.startswith("Execution"):
            open_states = {name: max(seen, 1) for name, seen in open_states.items()}
        elif kind == "ExecutionRedriven":  # those failures were not caught: they run again
            status.update((name, "caught") for name, seen in open_states.items() if seen == 2)
            open_states = {name: 0 for name, seen in open_states.items() if seen != 2}
    for name, seen in open_states.items():
        if seen == 2 or (seen and execution_status == "SUCCEEDED"):
            status[name] = "caught"
        elif execution_status == "SUCCEEDED":
            status[name] = "succeeded"
        elif execution_status in ("FAILED", "TIMED_OUT", "ABORTED"):
            status[name] = "aborted" if execution_status == "ABORTED" else "failed"
    return status


def by_path(definition: Mapping[str, Any], status: Mapping[str, str]) -> dict[str, str]:
    """``status`` by state name, keyed by each state's path in ``definition``."""
    out: dict[str, str] = {}

    def walk(machine: Mapping[str, Any], prefix: str) -> None:
        for name, state in machine.get("States", {}).items():
            if name in status:
                out[prefix + name] = status[name]
            for i, inner in enumerate(_inner(state)):
                sub = (
                    f"{prefix}{name}/{i}/"
                    if state.get("Type") == "Parallel"
                    else f"{prefix}{name}/"
                )
                walk(inner, sub)

    walk(definition, "")
    return out
