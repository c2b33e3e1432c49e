"""Starting executions from the event loop: a brief execution starts on the loop, sharing one
transaction with the starts that arrive with it; any other starts in a thread. The outcome is
the same either way, over SQLite and PostgreSQL (where each start is a transaction of its own)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from sqlalchemy import event

from dockyard.api.pipelines import StartExecution, StateMachineConfig
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.pipelines._definitions import BRIEF_STATES, runs_briefly
from dockyard.server.pipelines._errors import ExecutionExists

ROOT = Actor.local("root")


def _pass(next_: str | None = None, **more: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Pass", **more}
    if next_ is None:
        state["End"] = True
    else:
        state["Next"] = next_
    return state


def chain(n: int) -> dict[str, Any]:
    states = {f"S{i}": _pass(f"S{i + 1}" if i + 1 < n else None) for i in range(n)}
    return {"StartAt": "S0", "States": states}


CHOOSE = {
    "StartAt": "Step",
    "States": {
        "Step": _pass("Check", Result=1, ResultPath="$.step"),
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.step", "NumericEquals": 1, "Next": "Done"}],
            "Default": "Step",  # back to Step: a cycle
        },
        "Done": _pass(),
    },
}
MAP = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "One", "States": {"One": _pass()}},
            "End": True,
        }
    },
}
CATCH_LOOP = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Again"}],
            "End": True,
        },
        "Again": _pass("Work"),
    },
}


def test_which_definitions_run_briefly() -> None:
    assert runs_briefly(chain(10))
    assert runs_briefly(chain(BRIEF_STATES))
    assert not runs_briefly(chain(BRIEF_STATES + 1))
    assert not runs_briefly(CHOOSE)  # Default leads back
    assert not runs_briefly(CATCH_LOOP)  # a catcher leads back
    assert not runs_briefly(MAP)
    diamond = {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "B"}],
                "Default": "C",
            },
            "B": _pass("D"),
            "C": _pass("D"),
            "D": _pass(),
        },
    }
    assert runs_briefly(diamond)  # D is reached twice, but on no cycle
    # work without bound in one state: JSONata, an intrinsic function
    jsonata = {**chain(2), "QueryLanguage": "JSONata"}
    assert not runs_briefly(jsonata)
    computed = chain(2)
    computed["States"]["S0"]["Parameters"] = {"big.$": "States.ArrayRange(1, 1000, 1)"}
    assert not runs_briefly(computed)
    templated = chain(2)
    templated["States"]["S0"]["Output"] = "{% $sum([1, 2]) %}"
    assert not runs_briefly(templated)
    plain = chain(2)
    plain["States"]["S0"]["Parameters"] = {"a.$": "$.x", "note": "States.Not a call"}
    assert runs_briefly(plain)


def _machine(services: Services, name: str, definition: dict[str, Any]) -> str:
    config = StateMachineConfig(name=name, definition=json.dumps(definition))
    return services.pipelines.create(ROOT, config).arn


def _start(services: Services, arn: str, name: str, given: Any = None) -> Any:
    request = StartExecution(name=name, input=json.dumps(given or {}))
    return services.pipelines.start_soon(ROOT, arn, request)


def test_starts_arriving_together_each_run_and_one_that_fails_fails_alone(
    services: Services,
) -> None:
    arn = _machine(services, "ten", chain(10))
    services.pipelines.start(ROOT, arn, StartExecution(name="taken", input="{}"))
    commits: list[int] = []
    if services.db.dialect == "sqlite":  # (on PostgreSQL reads commit through the same engine)
        for engine in (services.db.write_engine, services.db._unwaited_engine):
            event.listen(engine, "commit", lambda conn: commits.append(1))

    async def main() -> list[Any]:
        starts = [_start(services, arn, f"e{i}", {"i": i}) for i in range(8)]
        starts.append(_start(services, arn, "taken", {"other": "input"}))
        return await asyncio.gather(*starts, return_exceptions=True)

    *started, refused = asyncio.run(main())
    assert isinstance(refused, ExecutionExists)
    for i, one in enumerate(started):
        found = services.pipelines.describe_execution(ROOT, one.execution_arn)
        assert (found.status, json.loads(found.output or "null")) == ("SUCCEEDED", {"i": i})
        events = services.pipelines.history(ROOT, one.execution_arn).events
        assert [e.id for e in events] == list(range(1, 23))
    assert len(commits) == (1 if services.db.dialect == "sqlite" else 0)  # one for the nine


def test_a_long_or_large_start_runs_in_a_thread_with_the_same_outcome(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapped = _machine(services, "map", MAP)
    ten = _machine(services, "ten", chain(10))
    wordy = chain(2)
    wordy["States"]["S0"]["Result"] = "x" * 20_000
    wordy_arn = _machine(services, "wordy", wordy)
    where: dict[str, bool] = {}
    begin = services.pipelines.engine.begin

    def noted(conn: Any, actor: Actor, machine: Any, arn: str, name: str, *a: Any, **k: Any) -> int:
        where[name] = threading.current_thread() is threading.main_thread()
        return begin(conn, actor, machine, arn, name, *a, **k)

    monkeypatch.setattr(services.pipelines.engine, "begin", noted)
    large = {"items": [], "pad": "x" * 20_000}

    async def main() -> list[Any]:
        return await asyncio.gather(
            _start(services, mapped, "map", {"items": list(range(50))}),
            _start(services, ten, "small"),
            _start(services, ten, "large", large),
            _start(services, wordy_arn, "wordy"),
        )

    for one in asyncio.run(main()):
        assert services.pipelines.describe_execution(ROOT, one.execution_arn).status == "SUCCEEDED"
    on_loop = services.db.dialect == "sqlite"
    assert where == {"map": False, "small": on_loop, "large": False, "wordy": False}
