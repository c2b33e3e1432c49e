"""Pipelines written in Python, compiled to the Amazon States Language.

    from dockyard import steps

    read = steps.GetParameter("ReadEta", "/retrain/eta", result_path="$.eta")
    train = steps.Train("Train", spec, result_path="$.train",
                        retry=steps.Retry(["States.TaskFailed"], max_attempts=2))
    gate = steps.Choice("GoodEnough").when(
        dy.Condition("$.train.metrics.rmse") < 3.0, register >> deploy
    ).otherwise(steps.Fail("TooWeak", error="Quality"))
    pipeline = dy.Pipeline("retrain", read >> train >> gate)
    pipeline.definition()          # the States Language document, validated

The same document can be written by hand (``dockyard pipelines create retrain.asl.json``);
the builder only saves typing and catches mistakes before the server sees them.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dockyard.client.sdk.steps import Chain, Step, _Compiler, as_chain

if TYPE_CHECKING:
    from dockyard.api.pipelines import Execution, StateMachine
    from dockyard.client.http import Client

__all__ = ["Pipeline"]


class Pipeline:
    """A state machine built from steps (see :mod:`dockyard.client.sdk.steps`)."""

    def __init__(
        self,
        name: str,
        steps: Step | Chain,
        *,
        comment: str | None = None,
        timeout_s: int | None = None,
    ) -> None:
        self.name = name
        self.chain = as_chain(steps, "steps")
        self.comment = comment
        self.timeout_s = timeout_s

    def definition(self) -> dict[str, Any]:
        """The States Language document, with states in the order they run, checked by the
        rules the server applies (:class:`~dockyard.asl.DefinitionInvalid` names each
        problem's place)."""
        machine = _Compiler().machine(self.chain)
        document: dict[str, Any] = {}
        if self.comment:
            document["Comment"] = self.comment
        document["StartAt"] = machine["StartAt"]
        document["States"] = ordered(machine["States"], machine["StartAt"])
        if self.timeout_s is not None:
            document["TimeoutSeconds"] = self.timeout_s
        from dockyard.asl import DefinitionInvalid, validate

        problems = [p for p in validate(document) if p.severity == "ERROR"]
        if problems:
            raise DefinitionInvalid(problems)
        return document

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.definition(), indent=indent)

    def create(self, *, description: str = "", client: Client | None = None) -> StateMachine:
        """Create the pipeline on the server, or update it to this definition (running
        executions keep the one they began with)."""
        from dockyard.client.sdk._pipelines import create_pipeline, update_pipeline
        from dockyard.errors import AlreadyExists

        definition = self.definition()
        try:
            return create_pipeline(self.name, definition, description=description, client=client)
        except AlreadyExists:
            return update_pipeline(self.name, definition, client=client)

    def run(
        self,
        input: Any = None,
        *,
        name: str | None = None,
        wait: bool = True,
        timeout_s: float | None = None,
        client: Client | None = None,
    ) -> Execution:
        """Create or update the pipeline, start an execution with ``input`` and (``wait``)
        return it once it has ended; :attr:`Execution.status` says how."""
        import time

        from dockyard.client.sdk._pipelines import describe_execution, start_execution
        from dockyard.errors import DeadlineExceeded

        self.create(client=client)
        started = start_execution(self.name, input, name=name, client=client)
        execution = describe_execution(self.name, started.execution_arn, client=client)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while wait and execution.status.value == "RUNNING":
            left = 30.0 if deadline is None else min(30.0, deadline - time.monotonic())
            if left <= 0:
                raise DeadlineExceeded(
                    f"execution {execution.name} of {self.name} still running after {timeout_s} s"
                )
            execution = describe_execution(
                self.name, started.execution_arn, wait=left, client=client
            )
        return execution

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r}, {self.chain!r})"


def ordered(states: Mapping[str, Any], start: str) -> dict[str, Any]:
    """``states`` in breadth-first order from ``start`` (nested machines ordered too)."""
    out: dict[str, Any] = {}
    queue = deque([start])
    while queue:
        name = queue.popleft()
        if name in out or name not in states:
            continue
        state = dict(states[name])
        for key in ("Branches",):
            if key in state:
                state[key] = [
                    {**branch, "States": ordered(branch["States"], branch["StartAt"])}
                    for branch in state[key]
                ]
        if "ItemProcessor" in state:
            processor = state["ItemProcessor"]
            state["ItemProcessor"] = {
                **processor,
                "States": ordered(processor["States"], processor["StartAt"]),
            }
        out[name] = state
        queue.extend(_targets(state))
    for name, state in states.items():  # unreachable states stay, for validation to name
        out.setdefault(name, state)
    return out


def _targets(state: Mapping[str, Any]) -> list[str]:
    targets = [choice["Next"] for choice in state.get("Choices", ())]
    for key in ("Next", "Default"):
        if key in state:
            targets.append(state[key])
    targets.extend(catch["Next"] for catch in state.get("Catch", ()))
    return targets
