"""Steps of a :class:`~dockyard.client.sdk.Pipeline`: Python objects that compile to States
Language states.

    train = dy.steps.Train("Train", spec, result_path="$.train")
    good = dy.steps.Choice("GoodEnough").when(dy.Condition("$.train.rmse") < 3.0, register)
    pipeline = dy.Pipeline("retrain", read_params >> train >> good >> notify)

``a >> b`` chains steps; a :class:`Choice` followed by a step joins there: each branch that
does not end by itself continues with it, and so does ``otherwise`` when no branch matched.
Values wrapped in :func:`path` become ``"Key.$"`` fields, so ``{"Name": dy.path("$.name")}``
compiles to ``{"Name.$": "$.name"}``.

Every mistake the builder catches raises :class:`~dockyard.errors.InvalidArgument` naming the
argument (``field``); :meth:`Pipeline.definition` raises its subclass
:class:`~dockyard.asl.DefinitionInvalid` for what only the server's rules catch, listing each
problem's place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = [
    "Catch",
    "Chain",
    "Choice",
    "Condition",
    "Fail",
    "Function",
    "GetParameter",
    "Map",
    "Parallel",
    "Pass",
    "Path",
    "Publish",
    "Retry",
    "Step",
    "Succeed",
    "Task",
    "Train",
    "Transform",
    "Wait",
    "WaitForCallback",
    "path",
]


@dataclass(frozen=True)
class Path:
    """A JSONPath (``$.a``, ``$$.Execution.Id``) or intrinsic (``States.Format(...)``) that the
    engine resolves when the state runs."""

    expression: str


def path(expression: str) -> Path:
    return Path(expression)


_A_STEP = "a step (steps.Pass(...)) or a chain of steps (a >> b)"


def _got(value: Any) -> str:
    shown = repr(value)
    return f"{type(value).__name__} {shown if len(shown) <= 40 else shown[:37] + '...'}"


def _text(value: Any, field: str) -> Any:
    """``value`` when it is a string or None; InvalidArgument naming ``field`` otherwise."""
    if value is not None and not isinstance(value, str):
        raise InvalidArgument(f"{field} is a string, got {_got(value)}", field=field)
    return value


def _error_names(value: Any, field: str = "errors") -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidArgument(
            f"{field} is a list of error names (['States.TaskFailed']), got {_got(value)}",
            field=field,
        )
    for item in value:
        if not isinstance(item, str):
            raise InvalidArgument(
                f"{field} is a list of error names (['States.TaskFailed']), holding {_got(item)}",
                field=field,
            )
    return list(value)


def payload(value: Any) -> Any:
    """``value`` with every :class:`Path` turned into its ``"Key.$"`` field."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, Path):
                out[f"{key}.$"] = item.expression
            else:
                out[str(key)] = payload(item)
        return out
    if isinstance(value, (list, tuple)):
        return [payload(item) for item in value]
    if isinstance(value, Path):
        raise InvalidArgument(
            "a path can only be the value of a field: {'Name': dy.path('$.name')}",
            field="parameters",
        )
    return value


@dataclass(frozen=True)
class Retry:
    """A retrier: ``Retry(["States.TaskFailed"], max_attempts=2, backoff_rate=2.0)``."""

    errors: Sequence[str] = ("States.ALL",)
    interval_s: int = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_s: int | None = None
    jitter: bool = False

    def __post_init__(self) -> None:
        _error_names(self.errors)

    def compile(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ErrorEquals": list(self.errors),
            "IntervalSeconds": self.interval_s,
            "MaxAttempts": self.max_attempts,
            "BackoffRate": self.backoff_rate,
        }
        if self.max_delay_s is not None:
            out["MaxDelaySeconds"] = self.max_delay_s
        if self.jitter:
            out["JitterStrategy"] = "FULL"
        return out


@dataclass(frozen=True)
class Catch:
    """A catcher: on one of ``errors`` go to ``then``, with the error at ``result_path``."""

    then: Step | Chain
    errors: Sequence[str] = ("States.ALL",)
    result_path: str | None = "$.error"

    def __post_init__(self) -> None:
        if isinstance(self.errors, (Step, Chain)) and not isinstance(self.then, (Step, Chain)):
            raise InvalidArgument(
                "Catch(then, errors=[...]) takes the step to go to first, then the errors: "
                f"Catch({self.errors!r}, errors={self.then!r})",
                field="then",
            )
        as_chain(self.then, "then")
        _error_names(self.errors)
        _text(self.result_path, "result_path")


class Step:
    """One state. Subclasses name the state's type and add its fields."""

    type: str = ""
    #: Whether the state ends a branch by itself (Succeed, Fail): nothing may follow it.
    terminal: bool = False

    def __init__(
        self,
        name: str,
        *,
        comment: str | None = None,
        input_path: str | None = None,
        output_path: str | None = None,
        assign: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(name, str):
            raise InvalidArgument(f"a state's name is a string, got {_got(name)}", field="name")
        if not name or len(name) > 80:
            raise InvalidArgument(
                f"a state's name has 1 to 80 characters, got {name!r}", field="name"
            )
        self.name = name
        self.fields: dict[str, Any] = {}
        self._put("Comment", comment)
        self._put("InputPath", _text(input_path, "input_path"))
        self._put("OutputPath", _text(output_path, "output_path"))
        self._put("Assign", None if assign is None else payload(assign))

    def _put(self, key: str, value: Any) -> None:
        if value is not None:
            self.fields[key] = value

    def __rshift__(self, other: Step | Chain) -> Chain:
        return Chain([self]) >> other

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def children(self) -> Iterable[Chain]:
        """The chains that continue from this state inside its own state machine."""
        return ()

    def compile(self, continuation: str | None, compiler: _Compiler) -> dict[str, Any]:
        state: dict[str, Any] = {"Type": self.type, **self.fields}
        if not self.terminal:
            if continuation is None:
                state["End"] = True
            else:
                state["Next"] = continuation
        return state


class Chain:
    """Steps run one after the other."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)

    def __rshift__(self, other: Step | Chain) -> Chain:
        if self.steps and self.steps[-1].terminal:
            raise InvalidArgument(
                f"nothing can follow {self.steps[-1].name!r}: a {self.steps[-1].type} state "
                "ends its branch",
                field="steps",
            )
        return Chain([*self.steps, *as_chain(other, "steps").steps])

    def __repr__(self) -> str:
        return " >> ".join(repr(step) for step in self.steps)


def as_chain(value: Step | Chain, field: str = "steps") -> Chain:
    """``value`` as a chain; InvalidArgument naming ``field`` when it is neither a step nor
    a chain."""
    if isinstance(value, Chain):
        return value
    if isinstance(value, Step):
        return Chain([value])
    raise InvalidArgument(f"{field} is {_A_STEP}, got {_got(value)}", field=field)


def _all_of(value: Any, kind: type, field: str, example: str) -> list[Any]:
    """``value`` (one ``kind`` or a list of them) as a list; InvalidArgument otherwise."""
    items = [value] if isinstance(value, kind) else value
    listed = isinstance(items, Sequence) and not isinstance(items, str)
    if listed and all(isinstance(item, kind) for item in items):
        return list(items)
    raise InvalidArgument(
        f"{field} is a {kind.__name__} or a list of them ({example}), got {_got(value)}",
        field=field,
    )


class _Resulting(Step):
    """A state with a result: Parameters, ResultSelector, ResultPath, Retry and Catch."""

    def __init__(
        self,
        name: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        result_selector: Mapping[str, Any] | None = None,
        result_path: str | None = None,
        retry: Retry | Sequence[Retry] | None = None,
        catch: Catch | Sequence[Catch] | None = None,
        **common: Any,
    ) -> None:
        super().__init__(name, **common)
        self._put("Parameters", None if parameters is None else payload(parameters))
        self._put("ResultSelector", None if result_selector is None else payload(result_selector))
        self._put("ResultPath", _text(result_path, "result_path"))
        self.retries = _all_of(retry or (), Retry, "retry", "dy.Retry(['States.TaskFailed'])")
        self.catches = _all_of(catch or (), Catch, "catch", "dy.Catch(steps.Fail('Broken'))")

    def children(self) -> Iterable[Chain]:
        return [as_chain(catch.then) for catch in self.catches]

    def compile(self, continuation: str | None, compiler: _Compiler) -> dict[str, Any]:
        state = super().compile(continuation, compiler)
        if self.retries:
            state["Retry"] = [retry.compile() for retry in self.retries]
        if self.catches:
            state["Catch"] = [
                {
                    "ErrorEquals": list(catch.errors),
                    "Next": compiler.chain(as_chain(catch.then), continuation=None),
                    **({"ResultPath": catch.result_path} if catch.result_path else {}),
                }
                for catch in self.catches
            ]
        return state


class Pass(Step):
    type = "Pass"

    def __init__(
        self,
        name: str,
        *,
        result: Any = None,
        parameters: Mapping[str, Any] | None = None,
        result_path: str | None = None,
        **common: Any,
    ) -> None:
        super().__init__(name, **common)
        self._put("Result", result)
        self._put("Parameters", None if parameters is None else payload(parameters))
        self._put("ResultPath", _text(result_path, "result_path"))


class Task(_Resulting):
    """Any task state: ``resource`` is a Dockyard action or an AWS resource ARN."""

    type = "Task"

    def __init__(
        self,
        name: str,
        resource: str,
        *,
        timeout_s: int | None = None,
        heartbeat_s: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__(name, **options)
        if not isinstance(resource, str) or not resource:
            raise InvalidArgument(
                f"resource is a string ('dockyard:function:score', an ARN), got {_got(resource)}",
                field="resource",
            )
        self.fields = {"Resource": resource, **self.fields}
        self._put("TimeoutSeconds", timeout_s)
        self._put("HeartbeatSeconds", heartbeat_s)


def _spec(spec: Any) -> Any:
    if hasattr(spec, "model_dump"):
        return spec.model_dump(mode="json", exclude_none=True)
    return spec


class Train(Task):
    """Run a training job (a ``TrainingJobSpec`` or its dict) and wait for it to end."""

    def __init__(self, name: str, spec: Any, **options: Any) -> None:
        super().__init__(name, "dockyard:train.sync", parameters=_spec(spec), **options)


class Transform(Task):
    """Run a batch transform job and wait for it to end."""

    def __init__(self, name: str, spec: Any, **options: Any) -> None:
        super().__init__(name, "dockyard:transform.sync", parameters=_spec(spec), **options)


class Function(Task):
    """Call a registered Python function with the state's input (or ``parameters``)."""

    def __init__(self, name: str, function: str, **options: Any) -> None:
        if not isinstance(function, str) or not function:
            raise InvalidArgument(
                "function is the registered name of a function (a key of "
                f"DOCKYARD_PIPELINE_FUNCTIONS), got {_got(function)}",
                field="function",
            )
        super().__init__(name, f"dockyard:function:{function}", **options)


class Publish(Task):
    """Publish a message to a notification topic."""

    def __init__(self, name: str, topic: str, message: Any, **options: Any) -> None:
        super().__init__(
            name,
            "arn:aws:states:::sns:publish",
            parameters={"TopicArn": topic, "Message": message},
            **options,
        )


class GetParameter(Task):
    """Read a parameter from the parameter store."""

    def __init__(self, name: str, parameter: str | Path, **options: Any) -> None:
        super().__init__(
            name,
            "arn:aws:states:::aws-sdk:ssm:getParameter",
            parameters={"Name": parameter},
            **options,
        )


class WaitForCallback(Task):
    """Run ``resource`` with a task token (``$$.Task.Token``) and wait until someone sends
    the token back with SendTaskSuccess or SendTaskFailure."""

    def __init__(self, name: str, resource: str, **options: Any) -> None:
        if isinstance(resource, str) and not resource.endswith(".waitForTaskToken"):
            resource += ".waitForTaskToken"
        super().__init__(name, resource, **options)


class Wait(Step):
    """Wait ``seconds``, until ``timestamp`` (ISO 8601), or what a path names."""

    type = "Wait"

    def __init__(
        self,
        name: str,
        *,
        seconds: int | None = None,
        timestamp: str | None = None,
        seconds_path: str | None = None,
        timestamp_path: str | None = None,
        **common: Any,
    ) -> None:
        super().__init__(name, **common)
        given = {
            "Seconds": seconds,
            "Timestamp": timestamp,
            "SecondsPath": _text(seconds_path, "seconds_path"),
            "TimestampPath": _text(timestamp_path, "timestamp_path"),
        }
        chosen = {key: value for key, value in given.items() if value is not None}
        if len(chosen) != 1:
            raise InvalidArgument(
                "give exactly one of seconds, timestamp, seconds_path and timestamp_path",
                field="wait",
            )
        self.fields.update(chosen)


class Succeed(Step):
    type = "Succeed"
    terminal = True


class Fail(Step):
    type = "Fail"
    terminal = True

    def __init__(
        self, name: str, *, error: str | None = None, cause: str | None = None, **common: Any
    ) -> None:
        super().__init__(name, **common)
        self._put("Error", error)
        self._put("Cause", cause)


class Parallel(_Resulting):
    """Run ``branches`` at once; the result is the list of their outputs."""

    type = "Parallel"

    def __init__(self, name: str, branches: Sequence[Step | Chain], **options: Any) -> None:
        super().__init__(name, **options)
        if isinstance(branches, (Step, Chain, str)) or not isinstance(branches, Sequence):
            raise InvalidArgument(
                f"branches is a list of branches, each {_A_STEP}, got {_got(branches)}",
                field="branches",
            )
        if not branches:
            raise InvalidArgument("a Parallel state needs at least one branch", field="branches")
        self.branches = [as_chain(branch, "branches") for branch in branches]

    def compile(self, continuation: str | None, compiler: _Compiler) -> dict[str, Any]:
        state = super().compile(continuation, compiler)
        state["Branches"] = [compiler.machine(branch) for branch in self.branches]
        return state


class Map(_Resulting):
    """Run ``iterator`` for each item of the list at ``items_path``."""

    type = "Map"

    def __init__(
        self,
        name: str,
        iterator: Step | Chain,
        *,
        items_path: str | None = None,
        item_selector: Mapping[str, Any] | None = None,
        max_concurrency: int | None = None,
        tolerated_failures: int | None = None,
        tolerated_failure_percentage: float | None = None,
        **options: Any,
    ) -> None:
        super().__init__(name, **options)
        self.iterator = as_chain(iterator, "iterator")
        self._put("ItemsPath", _text(items_path, "items_path"))
        self._put("ItemSelector", None if item_selector is None else payload(item_selector))
        self._put("MaxConcurrency", max_concurrency)
        self._put("ToleratedFailureCount", tolerated_failures)
        self._put("ToleratedFailurePercentage", tolerated_failure_percentage)

    def compile(self, continuation: str | None, compiler: _Compiler) -> dict[str, Any]:
        state = super().compile(continuation, compiler)
        state["ItemProcessor"] = {
            "ProcessorConfig": {"Mode": "INLINE"},
            **compiler.machine(self.iterator),
        }
        return state


class Condition:
    """A Choice rule over the value at ``variable``: ``Condition("$.rmse") < 3.0``,
    ``Condition("$.stage") == "prod"``, ``Condition("$.x").is_present()``; combine with
    ``&``, ``|`` and ``~``."""

    def __init__(
        self, variable: str, rule: dict[str, Any] | None = None, *, kind: str | None = None
    ) -> None:
        """``kind`` (``Numeric``, ``String``, ``Boolean``, ``Timestamp``) says how to compare
        with a :class:`Path`; with a plain value it is inferred from the value."""
        if kind is not None and kind not in _KINDS:
            raise InvalidArgument(
                f"kind is one of {', '.join(_KINDS)}, got {kind!r}", field="condition"
            )
        self.variable = variable
        self.rule = rule
        self.kind = kind

    def _compare(self, operator: str, value: Any) -> Condition:
        if isinstance(value, Path):
            name = f"{self.kind or 'Numeric'}{operator}Path"
            return Condition(self.variable, {"Variable": self.variable, name: value.expression})
        kind = self.kind or _kind(value, operator)
        return Condition(self.variable, {"Variable": self.variable, f"{kind}{operator}": value})

    def __eq__(self, value: object) -> Condition:  # type: ignore[override]
        return self._compare("Equals", value)

    def __ne__(self, value: object) -> Condition:  # type: ignore[override]
        """``Not`` of ``==``: the States Language has no NotEquals."""
        return ~self._compare("Equals", value)

    def __lt__(self, value: Any) -> Condition:
        return self._compare("LessThan", value)

    def __le__(self, value: Any) -> Condition:
        return self._compare("LessThanEquals", value)

    def __gt__(self, value: Any) -> Condition:
        return self._compare("GreaterThan", value)

    def __ge__(self, value: Any) -> Condition:
        return self._compare("GreaterThanEquals", value)

    __hash__ = None  # type: ignore[assignment]

    def _test(self, name: str, value: Any = True) -> Condition:
        return Condition(self.variable, {"Variable": self.variable, name: value})

    def is_present(self, present: bool = True) -> Condition:
        return self._test("IsPresent", present)

    def is_null(self, null: bool = True) -> Condition:
        return self._test("IsNull", null)

    def matches(self, pattern: str) -> Condition:
        """``*`` matches any run of characters (``\\*`` a literal star)."""
        return self._test("StringMatches", pattern)

    def __and__(self, other: Condition) -> Condition:
        return Condition("", {"And": [self.compile(), other.compile()]})

    def __or__(self, other: Condition) -> Condition:
        return Condition("", {"Or": [self.compile(), other.compile()]})

    def __invert__(self) -> Condition:
        return Condition("", {"Not": self.compile()})

    def compile(self) -> dict[str, Any]:
        if self.rule is None:
            raise InvalidArgument(
                f"Condition({self.variable!r}) needs a comparison, e.g. "
                f"Condition({self.variable!r}) > 0",
                field="condition",
            )
        return dict(self.rule)


_KINDS = ("Numeric", "String", "Boolean", "Timestamp")


def _kind(value: Any, operator: str) -> str:
    """The type prefix of a comparison: ``Numeric``, ``String``, ``Boolean``, ``Timestamp``."""
    if isinstance(value, bool):
        if operator != "Equals":
            raise InvalidArgument("booleans can only be compared with ==", field="condition")
        return "Boolean"
    if isinstance(value, (int, float)):
        return "Numeric"
    if isinstance(value, str):
        return "String"
    if isinstance(value, Condition):
        raise InvalidArgument(
            f"to compare with the value at {value.variable!r}, give dy.path({value.variable!r})",
            field="condition",
        )
    raise InvalidArgument(
        f"a condition compares with a number, string or boolean, not {type(value).__name__}",
        field="condition",
    )


class Choice(Step):
    """Go to the first branch whose condition holds, else to ``otherwise``."""

    type = "Choice"

    def __init__(self, name: str, **common: Any) -> None:
        super().__init__(name, **common)
        self.branches: list[tuple[Condition, Chain]] = []
        self.default: Chain | None = None

    def when(self, condition: Condition, then: Step | Chain) -> Choice:
        if not isinstance(condition, Condition):
            raise InvalidArgument(
                "condition is a dy.Condition (dy.Condition('$.rmse') < 3.0), "
                f"got {_got(condition)}",
                field="condition",
            )
        self.branches.append((condition, as_chain(then, "then")))
        return self

    def otherwise(self, then: Step | Chain) -> Choice:
        self.default = as_chain(then, "otherwise")
        return self

    def children(self) -> Iterable[Chain]:
        chains = [chain for _, chain in self.branches]
        return chains + ([self.default] if self.default is not None else [])

    def compile(self, continuation: str | None, compiler: _Compiler) -> dict[str, Any]:
        if not self.branches:
            raise InvalidArgument(
                f"Choice {self.name!r} needs at least one .when(condition, step)",
                field="choices",
            )
        state: dict[str, Any] = {"Type": "Choice", **self.fields}
        state["Choices"] = [
            {**condition.compile(), "Next": compiler.chain(chain, continuation)}
            for condition, chain in self.branches
        ]
        if self.default is not None:
            state["Default"] = compiler.chain(self.default, continuation)
        elif continuation is not None:
            state["Default"] = continuation
        return state


class _Compiler:
    """Turns chains into ``States`` maps, one per state machine (branches and iterators get
    their own)."""

    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {}
        self.seen: dict[str, tuple[Step, str | None]] = {}

    def machine(self, chain: Chain) -> dict[str, Any]:
        inner = _Compiler()
        start = inner.chain(chain, continuation=None)
        return {"StartAt": start, "States": inner.states}

    def chain(self, chain: Chain, continuation: str | None) -> str:
        if not chain.steps:
            raise InvalidArgument("an empty chain of steps", field="steps")
        next_name = continuation
        for step in reversed(chain.steps):
            next_name = self.step(step, next_name)
        assert next_name is not None
        return next_name

    def step(self, step: Step, continuation: str | None) -> str:
        earlier = self.seen.get(step.name)
        if earlier is not None:
            if earlier[0] is step and earlier[1] == continuation:
                return step.name
            raise InvalidArgument(
                f"two states are named {step.name!r} (or one step continues two ways); "
                "state names are unique in a state machine",
                field="steps",
            )
        self.seen[step.name] = (step, continuation)
        self.states[step.name] = {}
        self.states[step.name] = step.compile(continuation, self)
        return step.name
