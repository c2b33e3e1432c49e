"""The Task state: hand the effective input to the shell, then shape what comes back.

Each attempt is one :class:`StartTask` with a fresh ``task_id`` (``"Train#7"``); with
``TimeoutSeconds`` the interpreter also starts a timer ``"<task_id>:timeout"`` and, if it fires
first, cancels the task and fails the state with ``States.Timeout``. A resource ending in
``.waitForTaskToken`` gets a token, readable as ``$$.Task.Token`` in Parameters (JSONPath)
or ``$states.context.Task.Token`` in Arguments (JSONata).

A Task whose resource is a Lambda function's own ARN (``arn:aws:lambda:...:function:NAME``, the
older way to call one, rather than ``arn:aws:states:::lambda:invoke``) records AWS's events for
it: ``LambdaFunctionScheduled`` (the ARN and the input), ``LambdaFunctionStarted``, then
``LambdaFunctionSucceeded``, ``LambdaFunctionFailed`` or ``LambdaFunctionTimedOut``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dockyard.asl import dataflow
from dockyard.asl.effects import MAX_TIMER_SECONDS, StartTask
from dockyard.asl.errors import HEARTBEAT_TIMEOUT, TIMEOUT, StatesError, runtime
from dockyard.asl.history import checked_text, resource_parts

if TYPE_CHECKING:
    from dockyard.asl.engine import Engine, Outcome, StateKind

__all__ = ["KINDS", "result_output"]


def _lambda_arn(resource: str) -> bool:
    """A Lambda function's own ARN, whose history is AWS's ``LambdaFunction*`` events."""
    return resource.startswith("arn:") and resource.split(":")[2:3] == ["lambda"]


def _seconds(value: Any, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise runtime(f"The {field} value {value!r} is not a positive number of seconds")
    if value > MAX_TIMER_SECONDS:
        raise runtime(f"The {field} value {value!r} is more than {MAX_TIMER_SECONDS} seconds")
    return float(value)


class Task:
    def run(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        resource = str(spec.get("Resource", ""))
        raw = thread["input"]
        task_id = f"{engine.prefix(thread)}{thread['at']}#{engine.next_seq()}"
        token = engine.token(task_id) if resource.endswith(".waitForTaskToken") else None
        extra = {"Task": {"Token": token}} if token else {}
        context = engine.context(thread, **extra)
        if engine.jsonata_mode(spec):
            payload = raw
            if "Arguments" in spec:
                payload = engine.evaluate(spec["Arguments"], thread, "Arguments", context=context)
            timeout_value = spec.get("TimeoutSeconds")
            heartbeat_value = spec.get("HeartbeatSeconds")
            if isinstance(timeout_value, str):
                timeout_value = engine.evaluate(timeout_value, thread, "TimeoutSeconds")
            if isinstance(heartbeat_value, str):
                heartbeat_value = engine.evaluate(heartbeat_value, thread, "HeartbeatSeconds")
        else:
            scope = engine.scope(thread)
            effective = dataflow.select(
                spec.get("InputPath", "$"), raw, context=context, variables=scope
            )
            timeout_value = spec.get("TimeoutSeconds")
            heartbeat_value = spec.get("HeartbeatSeconds")
            if "TimeoutSecondsPath" in spec:
                timeout_value = dataflow.select(
                    spec["TimeoutSecondsPath"], effective, context=context, variables=scope
                )
            if "HeartbeatSecondsPath" in spec:
                heartbeat_value = dataflow.select(
                    spec["HeartbeatSecondsPath"], effective, context=context, variables=scope
                )
            payload = effective
            if "Parameters" in spec:
                payload = dataflow.template(
                    spec["Parameters"],
                    effective,
                    context=context,
                    variables=scope,
                    random=engine.random,
                )
        timeout = _seconds(timeout_value, "TimeoutSeconds")
        heartbeat = _seconds(heartbeat_value, "HeartbeatSeconds")
        parameters = checked_text(payload, thread["at"])
        if _lambda_arn(resource):
            lambda_details: dict[str, Any] = {
                "resource": resource,
                "input": parameters,
                "inputDetails": {"truncated": False},
            }
            if timeout is not None:
                lambda_details["timeoutInSeconds"] = int(timeout)
            engine.emit(
                thread,
                "LambdaFunctionScheduled",
                {"lambdaFunctionScheduledEventDetails": lambda_details},
            )
            engine.emit(thread, "LambdaFunctionStarted", {})
            return self._started(
                engine, thread, task_id, resource, payload, timeout, heartbeat, token
            )
        kind, name = resource_parts(resource)
        scheduled: dict[str, Any] = {
            "resourceType": kind,
            "resource": name,
            "region": "",
            "parameters": parameters,
        }
        if timeout is not None:
            scheduled["timeoutInSeconds"] = int(timeout)
        if heartbeat is not None:
            scheduled["heartbeatInSeconds"] = int(heartbeat)
        engine.emit(thread, "TaskScheduled", {"taskScheduledEventDetails": scheduled})
        engine.emit(
            thread,
            "TaskStarted",
            {"taskStartedEventDetails": {"resourceType": kind, "resource": name}},
        )
        return self._started(engine, thread, task_id, resource, payload, timeout, heartbeat, token)

    def _started(
        self,
        engine: Engine,
        thread: dict[str, Any],
        task_id: str,
        resource: str,
        payload: Any,
        timeout: float | None,
        heartbeat: float | None,
        token: str | None,
    ) -> Outcome:
        engine.effects.append(
            StartTask(task_id, thread["at"], resource, payload, timeout, heartbeat, token)
        )
        engine.wait_on(thread, task_id, "task")
        thread["phase"] = "task"
        thread["wait"] = task_id
        thread["timeout"] = None
        if timeout is not None:
            thread["timeout"] = f"{task_id}:timeout"
            engine.start_timer(thread, thread["timeout"], timeout)
        return None

    def succeeded(
        self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any], output: Any
    ) -> Outcome:
        self._settle(engine, thread)
        resource = str(spec.get("Resource", ""))
        kind, name = resource_parts(resource)
        text = checked_text(output, thread["at"])
        if _lambda_arn(resource):
            engine.emit(
                thread,
                "LambdaFunctionSucceeded",
                {
                    "lambdaFunctionSucceededEventDetails": {
                        "output": text,
                        "outputDetails": {"truncated": False},
                    }
                },
            )
            return result_output(engine, thread, spec, output)
        engine.emit(
            thread,
            "TaskSucceeded",
            {
                "taskSucceededEventDetails": {
                    "resourceType": kind,
                    "resource": name,
                    "output": text,
                    "outputDetails": {"truncated": False},
                }
            },
        )
        return result_output(engine, thread, spec, output)

    def failed(
        self,
        engine: Engine,
        thread: dict[str, Any],
        spec: dict[str, Any],
        error: str,
        cause: str | None,
    ) -> Outcome:
        self._settle(engine, thread)
        resource = str(spec.get("Resource", ""))
        kind, name = resource_parts(resource)
        details: dict[str, Any] = {"resourceType": kind, "resource": name, "error": error}
        if cause is not None:
            details["cause"] = cause
        if _lambda_arn(resource):
            del details["resourceType"], details["resource"]
            if error in (TIMEOUT, HEARTBEAT_TIMEOUT):
                engine.emit(
                    thread,
                    "LambdaFunctionTimedOut",
                    {"lambdaFunctionTimedOutEventDetails": details},
                )
            else:
                engine.emit(
                    thread, "LambdaFunctionFailed", {"lambdaFunctionFailedEventDetails": details}
                )
        elif error in (TIMEOUT, HEARTBEAT_TIMEOUT):
            engine.emit(thread, "TaskTimedOut", {"taskTimedOutEventDetails": details})
        else:
            engine.emit(thread, "TaskFailed", {"taskFailedEventDetails": details})
        raise StatesError(error, cause, task=True)

    def timer_fired(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        """The task's TimeoutSeconds passed: cancel it and time the state out."""
        engine.cancel(thread["wait"])
        thread["timeout"] = None
        return self.failed(engine, thread, spec, TIMEOUT, None)

    def _settle(self, engine: Engine, thread: dict[str, Any]) -> None:
        engine.waits.pop(thread["wait"], None)
        if thread.get("timeout"):
            engine.cancel(thread["timeout"])
        thread["timeout"] = None


def result_output(
    engine: Engine, thread: dict[str, Any], spec: dict[str, Any], result: Any
) -> Outcome:
    """From a result (a task's, a Parallel's or Map's array) to the state's output."""
    if engine.jsonata_mode(spec):
        output = result
        if "Output" in spec:
            output = engine.evaluate(spec["Output"], thread, "Output", result=result)
        assigned = None
        if "Assign" in spec:
            assigned = engine.evaluate(spec["Assign"], thread, "Assign", result=result)
        return engine.exit_state(thread, spec, output, assigned)
    context, scope = engine.context(thread), engine.scope(thread)
    if "ResultSelector" in spec:
        result = dataflow.template(
            spec["ResultSelector"], result, context=context, variables=scope, random=engine.random
        )
    assigned = None
    if "Assign" in spec:
        assigned = dataflow.assign(
            spec["Assign"], result, context=context, variables=scope, random=engine.random
        )
    output = dataflow.result_path(spec, thread["input"], result)
    output = dataflow.output_path(spec, output, context=context, variables=scope)
    return engine.exit_state(thread, spec, output, assigned)


KINDS: dict[str, StateKind] = {"Task": Task()}
