"""The states that do their work in the interpreter: Pass, Choice, Wait, Succeed, Fail."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from dockyard.asl import dataflow
from dockyard.asl.choice import matches, parse_timestamp
from dockyard.asl.effects import MAX_TIMER_SECONDS
from dockyard.asl.errors import NO_CHOICE_MATCHED, QUERY_EVALUATION_ERROR, StatesError, runtime

if TYPE_CHECKING:
    from dockyard.asl.engine import Engine, Outcome, StateKind

__all__ = ["KINDS"]

_PASS_FIELDS = ("InputPath", "Parameters", "Result", "ResultPath", "OutputPath", "Assign")


class Pass:
    def run(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        raw = thread["input"]
        if engine.jsonata_mode(spec):
            output = engine.evaluate(spec["Output"], thread, "Output") if "Output" in spec else raw
            assigned = (
                engine.evaluate(spec["Assign"], thread, "Assign") if "Assign" in spec else None
            )
            return engine.exit_state(thread, spec, output, assigned)
        if not any(field in spec for field in _PASS_FIELDS):
            return engine.exit_state(thread, spec, raw)
        context, scope = engine.context(thread), engine.scope(thread)
        effective = dataflow.select(
            spec.get("InputPath", "$"), raw, context=context, variables=scope
        )
        if "Parameters" in spec:
            effective = dataflow.template(
                spec["Parameters"],
                effective,
                context=context,
                variables=scope,
                random=engine.random,
            )
        result = spec.get("Result", effective)
        assigned = None
        if "Assign" in spec:
            assigned = dataflow.assign(
                spec["Assign"], result, context=context, variables=scope, random=engine.random
            )
        output = dataflow.result_path(spec, raw, result)
        output = dataflow.output_path(spec, output, context=context, variables=scope)
        return engine.exit_state(thread, spec, output, assigned)


def no_match() -> StatesError:
    """What a Choice state that matched no rule and names no Default fails with."""
    return StatesError(
        NO_CHOICE_MATCHED,
        "No Choices rule matched the input, and the state has no Default",
        decorate=True,
    )


class Choice:
    def run(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        raw = thread["input"]
        if engine.jsonata_mode(spec):
            return self._jsonata(engine, thread, spec)
        context, scope = engine.context(thread), engine.scope(thread)
        effective = dataflow.select(
            spec.get("InputPath", "$"), raw, context=context, variables=scope
        )
        chosen: dict[str, Any] = spec
        target = spec.get("Default")
        for rule in spec.get("Choices", ()):
            if matches(rule, effective, context=context, variables=scope):
                chosen, target = rule, rule.get("Next")
                break
        if target is None:
            raise no_match()
        assigned = None
        if "Assign" in chosen:
            assigned = dataflow.assign(
                chosen["Assign"], effective, context=context, variables=scope, random=engine.random
            )
        output = dataflow.output_path(spec, effective, context=context, variables=scope)
        return engine.exit_state(thread, spec, output, assigned, next_state=target)

    def _jsonata(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        chosen: dict[str, Any] = spec
        target = spec.get("Default")
        for index, rule in enumerate(spec.get("Choices", ())):
            field = f"Choices[{index}].Condition"
            held = engine.evaluate(rule.get("Condition"), thread, field)
            if not isinstance(held, bool):
                raise StatesError(
                    QUERY_EVALUATION_ERROR,
                    f"The Condition of rule {index} returned {held!r}, not a boolean",
                    decorate=True,
                )
            if held:
                chosen, target = rule, rule.get("Next")
                break
        if target is None:
            raise no_match()
        output_spec = chosen.get("Output", spec.get("Output"))
        assign_spec = chosen.get("Assign", spec.get("Assign"))
        output = thread["input"]
        if output_spec is not None:
            output = engine.evaluate(output_spec, thread, "Output")
        assigned = engine.evaluate(assign_spec, thread, "Assign") if assign_spec else None
        return engine.exit_state(thread, spec, output, assigned, next_state=target)


class Wait:
    """Wait for Seconds / Timestamp (or their Path forms); a moment already past goes on."""

    def run(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        raw = thread["input"]
        if engine.jsonata_mode(spec):
            output = engine.evaluate(spec["Output"], thread, "Output") if "Output" in spec else raw
            assigned = (
                engine.evaluate(spec["Assign"], thread, "Assign") if "Assign" in spec else None
            )
            seconds = self._seconds(
                engine,
                _jsonata_field(engine, thread, spec, "Seconds"),
                _jsonata_field(engine, thread, spec, "Timestamp"),
            )
        else:
            context, scope = engine.context(thread), engine.scope(thread)
            effective = dataflow.select(
                spec.get("InputPath", "$"), raw, context=context, variables=scope
            )
            seconds_value, timestamp = spec.get("Seconds"), spec.get("Timestamp")
            if "SecondsPath" in spec:
                seconds_value = dataflow.select(
                    spec["SecondsPath"], effective, context=context, variables=scope
                )
            if "TimestampPath" in spec:
                timestamp = dataflow.select(
                    spec["TimestampPath"], effective, context=context, variables=scope
                )
            seconds = self._seconds(engine, seconds_value, timestamp)
            assigned = None
            if "Assign" in spec:
                assigned = dataflow.assign(
                    spec["Assign"],
                    effective,
                    context=context,
                    variables=scope,
                    random=engine.random,
                )
            output = dataflow.output_path(spec, effective, context=context, variables=scope)
        if seconds <= 0:
            return engine.exit_state(thread, spec, output, assigned)
        timer_id = f"{engine.prefix(thread)}{thread['at']}#{engine.next_seq()}:wait"
        thread["phase"] = "wait"
        thread["wait"] = timer_id
        thread["held"] = [output, assigned]
        engine.start_timer(thread, timer_id, seconds)
        return None

    def _seconds(self, engine: Engine, seconds: Any, timestamp: Any) -> float:
        if timestamp is not None:
            moment = parse_timestamp(timestamp)
            if moment is None:
                raise runtime(f"The Timestamp '{timestamp}' is not an RFC 3339 timestamp")
            try:
                return (moment.astimezone(UTC) - engine.now).total_seconds()
            except OverflowError:  # its zone moves it past the year 9999 (or before 1)
                raise runtime(
                    f"The Timestamp '{timestamp}' is outside the years 1 to 9999 in UTC"
                ) from None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise runtime(f"The Seconds value {seconds!r} is not a non-negative number")
        if seconds > MAX_TIMER_SECONDS:
            raise runtime(
                f"The Seconds value {seconds!r} is more than {MAX_TIMER_SECONDS}, the longest "
                "a Wait state waits"
            )
        return float(seconds)

    def timer_fired(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        output, assigned = thread.pop("held")
        return engine.exit_state(thread, spec, output, assigned)


def _jsonata_field(engine: Engine, thread: dict[str, Any], spec: dict[str, Any], field: str) -> Any:
    value = spec.get(field)
    if isinstance(value, str) and field == "Seconds":
        return engine.evaluate(value, thread, field)
    if isinstance(value, str) and value.startswith("{%"):
        return engine.evaluate(value, thread, field)
    return value


class Succeed:
    def run(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        raw = thread["input"]
        if engine.jsonata_mode(spec):
            output = engine.evaluate(spec["Output"], thread, "Output") if "Output" in spec else raw
        else:
            context, scope = engine.context(thread), engine.scope(thread)
            effective = dataflow.select(
                spec.get("InputPath", "$"), raw, context=context, variables=scope
            )
            output = dataflow.output_path(spec, effective, context=context, variables=scope)
        return engine.exit_state(thread, spec, output)


class Fail:
    def run(self, engine: Engine, thread: dict[str, Any], spec: dict[str, Any]) -> Outcome:
        raw = thread["input"]
        error, cause = spec.get("Error"), spec.get("Cause")
        if engine.jsonata_mode(spec):
            if error is not None:
                error = engine.evaluate(error, thread, "Error")
            if cause is not None:
                cause = engine.evaluate(cause, thread, "Cause")
        else:
            context, scope = engine.context(thread), engine.scope(thread)
            if "ErrorPath" in spec:
                error = dataflow.resolve(
                    spec["ErrorPath"],
                    raw,
                    field="ErrorPath",
                    context=context,
                    variables=scope,
                    random=engine.random,
                )
            if "CausePath" in spec:
                cause = dataflow.resolve(
                    spec["CausePath"],
                    raw,
                    field="CausePath",
                    context=context,
                    variables=scope,
                    random=engine.random,
                )
        if error is not None and not isinstance(error, str):
            raise runtime(f"The Error of a Fail state must be a string, not {error!r}")
        if cause is not None and not isinstance(cause, str):
            raise runtime(f"The Cause of a Fail state must be a string, not {cause!r}")
        raise StatesError(error or "", cause)


KINDS: dict[str, StateKind] = {
    "Pass": Pass(),
    "Choice": Choice(),
    "Wait": Wait(),
    "Succeed": Succeed(),
    "Fail": Fail(),
}
