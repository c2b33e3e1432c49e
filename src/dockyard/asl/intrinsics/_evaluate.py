"""Parse and run intrinsic function calls (``States.Format('{}', $.x)``).

A text is parsed once (the parse is cached: a Map runs the same Parameters for every item),
then evaluated against the state's input, the context object and the variables. Paths inside
the call are read with the package's JSONPath evaluator (``paths.find``) unless the caller
passes its own ``resolve_path``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from random import Random
from typing import Any

from dockyard.asl.errors import StatesError, runtime
from dockyard.asl.intrinsics._functions import (
    FUNCTIONS,
    SIGNATURES,
    Env,
    check_kind,
    format_pieces,
)
from dockyard.asl.intrinsics._syntax import (
    Call,
    IntrinsicSyntaxError,
    Path,
    Text,
    Value,
    parse,
)
from dockyard.asl.paths import MISSING, find, parse_path

__all__ = [
    "Intrinsic",
    "PathResolver",
    "derived_random",
    "evaluate_intrinsic",
    "intrinsic_paths",
    "is_intrinsic",
    "parse_intrinsic",
]

Intrinsic = Call
# (path, input, context, variables) -> the value; raises StatesError when the path is missing.
PathResolver = Callable[[str, Any, Any, Mapping[str, Any]], Any]

_KNOWN = frozenset(SIGNATURES)
_LOOKS_LIKE_CALL = re.compile(r"\s*States\.[A-Za-z0-9_]+\s*\(")


def is_intrinsic(text: str) -> bool:
    """Whether ``text`` is written as an intrinsic call (``States.Name(...)``); a call of an
    unknown name counts, so that its parse can say what is wrong."""
    return bool(_LOOKS_LIKE_CALL.match(text))


def parse_intrinsic(text: str) -> Intrinsic:
    """The call tree of ``text``, its arity and literal arguments checked; an
    :class:`IntrinsicSyntaxError` (an InvalidArgument) names the column at fault."""
    return _parse(text)


@functools.lru_cache(maxsize=1024)
def _parse(text: str) -> Call:
    call = parse(text, _KNOWN)
    _check(text, call)
    return call


def _check(text: str, call: Call) -> None:
    signature = SIGNATURES[call.name]
    low, high = signature.bounds()
    count = len(call.arguments)
    if count < low or (high is not None and count > high):
        expected = (
            f"at least {low}" if high is None else str(low) if low == high else f"{low} to {high}"
        )
        raise IntrinsicSyntaxError(
            text, call.column, f"{call.name} takes {expected} argument(s), got {count}"
        )
    for index, argument in enumerate(call.arguments):
        if isinstance(argument, Call):
            _check(text, argument)
        elif isinstance(argument, Text | Value):
            problem = check_kind(call.name, index, argument.value)
            if problem:
                raise IntrinsicSyntaxError(text, call.column, f"{call.name}: {problem}")
    first = call.arguments[0] if call.arguments else None
    if (
        call.name == "States.Format"
        and isinstance(first, Text)
        and len(first.pieces) - 1 != count - 1
    ):
        raise IntrinsicSyntaxError(
            text,
            call.column,
            f"States.Format: the template has {len(first.pieces) - 1} placeholder(s) "
            f"'{{}}' but {count - 1} value(s) follow it",
        )


def intrinsic_paths(call: Call) -> list[str]:
    """Every path argument of ``call`` and of the calls nested in it, in order."""
    found: list[str] = []
    for argument in call.arguments:
        if isinstance(argument, Path):
            found.append(argument.path)
        elif isinstance(argument, Call):
            found.extend(intrinsic_paths(argument))
    return found


def evaluate_intrinsic(
    text: str,
    *,
    input: Any,
    context: Any,
    variables: Mapping[str, Any],
    random: Random | None = None,
    resolve_path: PathResolver | None = None,
) -> Any:
    """The value of the intrinsic call ``text``.

    ``random`` is the execution's generator (States.UUID, States.MathRandom without a seed).
    Without one, the generator is seeded from the call and the context object (execution id,
    state, entered time, retry count): a replay of the same state visit draws the same values,
    and nothing reads the machine's random state.
    Failures are :class:`StatesError`: ``States.IntrinsicFailure`` for a bad call or argument,
    ``States.Runtime`` for a path that is not there.
    """
    try:
        call = _parse(text)
    except IntrinsicSyntaxError as exc:
        raise StatesError("States.IntrinsicFailure", exc.message) from exc
    generator = random if random is not None else derived_random(text, context)
    runner = _Runner(input, context, variables, Env(generator), resolve_path or read_path)
    return runner.run(call)


class _Runner:
    def __init__(
        self,
        input: Any,
        context: Any,
        variables: Mapping[str, Any],
        env: Env,
        resolve_path: PathResolver,
    ) -> None:
        self.input = input
        self.context = context
        self.variables = variables
        self.env = env
        self.resolve_path = resolve_path

    def run(self, call: Call) -> Any:
        values = []
        for index, argument in enumerate(call.arguments):
            if isinstance(argument, Call):
                value = self.run(argument)
            elif isinstance(argument, Path):
                value = self.resolve_path(argument.path, self.input, self.context, self.variables)
            else:
                value = argument.value
            problem = check_kind(call.name, index, value)
            if problem:
                raise StatesError("States.IntrinsicFailure", f"{call.name}: {problem}")
            values.append(value)
        first = call.arguments[0] if call.arguments else None
        if call.name == "States.Format" and isinstance(first, Text):
            return format_pieces(first.pieces, values[1:])
        return FUNCTIONS[call.name](self.env, values)


def read_path(path: str, input: Any, context: Any, variables: Mapping[str, Any]) -> Any:
    """The value ``path`` selects; nothing there is ``States.Runtime``, as in AWS."""
    parsed = parse_path(path)
    value = find(parsed, input, context=context, variables=variables)
    if value is not MISSING:
        return value
    if parsed.root not in ("$", "$$") and parsed.root[1:] not in variables:
        raise runtime(f"The variable '{parsed.root}' is not defined")
    where = "the context object" if parsed.root == "$$" else "the input"
    raise runtime(f"The JSONPath '{path}' could not be found in {where}")


def derived_random(salt: str, context: Any) -> Random:
    """A generator seeded from ``salt`` and the context object: the same visit of a state
    draws the same values, another visit (or retry) other ones."""
    text = json.dumps([salt, context], sort_keys=True, default=str)
    return Random(hashlib.sha256(text.encode()).digest())
