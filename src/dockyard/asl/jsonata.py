"""JSONata mode: templates whose strings ``"{% expression %}"`` are JSONata expressions.

:func:`resolve_jsonata` walks a template (a state's ``Arguments``, ``Output``, ``Assign``...)
and replaces each such string by the value of its expression; other values stay as written.
The bindings are JSONata variables: ``{"states": {"input": ..., "context": ...}, "myVar": 1}``
is read as ``$states.input`` and ``$myVar``.

Besides JSONata's own library, Step Functions adds ``$partition``, ``$range``, ``$hash``,
``$random`` (with an optional seed), ``$uuid`` and ``$parse``, and leaves out ``$eval``; they
are bound here for every evaluation, with ``$pad``, whose width is bounded, and ``$number``,
``$toMillis``, ``$sort``, ``$power`` and the URL decoders, which refuse what JSONata refuses
in its words and with its code where the library raised Python's errors. Randomness and
the clock come from the caller (``random``, ``now``) so that a replayed execution computes
the same values: ``$uuid()`` and ``$random()`` (without a seed) draw from ``random``, and
``$now()`` / ``$millis()`` read ``now``. Without them, the generator is seeded from the
template and ``$states.context`` (execution, state, entered time, retry count), and the clock
reads ``$states.context.State.EnteredTime``; only a caller that gives neither a clock nor a
context gets JSONata's own clock.

Every failure (a syntax error, an error the expression raises, an undefined result, a function
as a result) is a :class:`StatesError` named ``States.QueryEvaluationError`` whose cause quotes
the expression and the field, in the words Step Functions uses.

Compiled expressions are kept in a bounded LRU cache: a Map state evaluates the same templates
for every item.

An evaluation runs at most :data:`EVALUATION_SECONDS` (its steps, loops and recursion are
checked against that deadline as they run), and regular expressions (``/(a|aa)+$/``) are matched
by the ``regex`` module under the same deadline and without holding the interpreter's lock: an
expression written to run for hours, or a pattern that backtracks catastrophically, fails its
state (``States.QueryEvaluationError``, "ran longer than") instead of stalling the server. A
pattern that is not a valid regular expression is a syntax problem of its expression. One
that runs past a few milliseconds also has its memory looked at as it runs: the process may grow
by at most :data:`EVALUATION_MEMORY_BYTES` (plus what one step takes) before the state fails
("used more than").
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from random import Random
from typing import Any

import regex  # type: ignore[import-untyped]

# The library raises the whole process's recursion limit to 10,000 when it is first imported
# (in whichever request first used JSONata): the limit stays the interpreter's, raised only
# while an expression is parsed or evaluated (_deep), and an expression nested deeper than
# that allows is refused by name (_TOO_DEEP).
_LIMIT = sys.getrecursionlimit()
from jsonata import JException, Jsonata  # type: ignore[import-untyped]  # noqa: E402
from jsonata.regex_engine import RegexFlags  # type: ignore[import-untyped]  # noqa: E402
from jsonata.utils import Utils  # type: ignore[import-untyped]  # noqa: E402

sys.setrecursionlimit(_LIMIT)


def _deep_equal(lhs: Any, rhs: Any) -> bool:
    """JSONata's ``=`` of two values, each pair of lists or objects compared once.

    The library compares them again wherever they recur: a value holding the one before it
    twice, forty times over (made in microseconds), took days, in one step that neither the
    deadline nor the memory look can stop. The same object is equal to itself.
    """
    known: dict[tuple[int, int], bool] = {}
    keep: list[Any] = []  # the ids stay those of live objects

    def equal(a: Any, b: Any) -> bool:
        both_lists = isinstance(a, list) and isinstance(b, list)
        if both_lists or (isinstance(a, dict) and isinstance(b, dict)):
            if a is b:
                return True
            pair = (id(a), id(b))
            found = known.get(pair)
            if found is not None:
                return found
            if both_lists:
                result = len(a) == len(b) and all(map(equal, a, b))
            else:
                result = a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
            keep.append((a, b))
            known[pair] = result
            return result
        return a == b and isinstance(a, bool) == isinstance(b, bool)

    return equal(lhs, rhs)


Utils.is_deep_equal = staticmethod(_deep_equal)  # what the library's = and != call

from dockyard.asl.errors import StatesError  # noqa: E402
from dockyard.asl.intrinsics._functions import HASHES  # noqa: E402
from dockyard.asl.jsonata_library import (  # noqa: E402
    decoding,
    library,
    number,
    power,
    sort,
    to_millis,
)

__all__ = [
    "QUERY_EVALUATION_ERROR",
    "is_jsonata",
    "jsonata_expression",
    "jsonata_syntax_problem",
    "resolve_jsonata",
]

QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
#: The interpreter's recursion limit while JSONata runs: the library's own (a recursive
#: function a few hundred calls deep, a chain of a thousand operators).
RECURSION_LIMIT = 10_000
CACHED_EXPRESSIONS = 1024
# JSONata's own range operator stops at ten million items; $range keeps the same bound.
MAX_RANGE_ITEMS = 10_000_000
#: The widest string $pad makes: one call is one step, which the deadline cannot stop, and a
#: width of ten billion would take the server's memory (a state's result holds 256 KiB).
MAX_PAD_WIDTH = 10_000_000
#: The values a result may hold written out: a state's data holds 256 KiB, far fewer.
MAX_RESULT_VALUES = 1_000_000
#: How long one expression may run, regular expressions' matching included.
EVALUATION_SECONDS = 5.0
#: How much the process may grow while one expression runs: ranges of millions of items
#: allocate about a gigabyte a second, enough to take the server's memory within the deadline
#: (and again after each restart, as the execution resumes at that state).
EVALUATION_MEMORY_BYTES = 256 * 1024 * 1024
#: How often, at most, a running expression's memory is looked at (from its first step on):
#: shorter evaluations never pay for the look.
_MEMORY_CHECK_S = 0.002
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
_EXPRESSION = re.compile(r"\{%(.*)%\}", re.DOTALL)
# Integers that a double holds exactly: a whole float inside prints as an integer, as in JS.
_EXACT = 2**53


def jsonata_expression(value: Any) -> str | None:
    """The expression inside ``"{% ... %}"``, or None when ``value`` is not such a string."""
    if not isinstance(value, str):
        return None
    match = _EXPRESSION.fullmatch(value)
    return match.group(1) if match else None


def is_jsonata(value: Any) -> bool:
    """Whether ``value`` is a ``"{% expression %}"`` string."""
    return jsonata_expression(value) is not None


def jsonata_syntax_problem(expression: str) -> str | None:
    """What is wrong with the syntax of ``expression``, or None (the parse is cached)."""
    try:
        with _deep():
            _compile(expression)
    except JException as exc:
        return (
            f"the JSONata expression {expression.strip()!r} is not valid: "
            f"{_message(exc, expression)}"
        )
    except _Refused as exc:
        return f"the JSONata expression {expression.strip()!r} is not valid: {exc}"
    except RecursionError:
        return f"the JSONata expression {_shortened(expression)!r} {_TOO_DEEP}"
    return None


def resolve_jsonata(
    template: Any,
    bindings: Mapping[str, Any],
    *,
    field: str = "",
    random: Random | None = None,
    now: datetime | None = None,
) -> Any:
    """``template`` with every ``"{% expression %}"`` string replaced by its value.

    ``bindings`` name the variables without ``$``; ``field`` names the state's field being
    resolved (``Arguments``) for error causes, nested keys are added as ``Arguments/a/b``.
    """
    states = bindings.get("states")
    context = states.get("context") if isinstance(states, Mapping) else None
    if random is None:
        random = _derived_random(template, context)
    if now is None:
        now = _entered_time(context)
    variables = dict(bindings)
    for name in _CALLBACK_VARIABLES:  # Assign may name one: it would hide the deadline
        variables.pop(name, None)
    variables.update(_functions(random, now))
    return _resolve(template, variables, field)


def _derived_random(template: Any, context: Any) -> Random:
    # The same visit of a state draws the same values; another visit or retry, other ones.
    text = json.dumps([template, context], sort_keys=True, default=str)
    return Random(hashlib.sha256(text.encode()).digest())


def _entered_time(context: Any) -> datetime | None:
    """``$$.State.EnteredTime``: $now() of a state that was given no clock."""
    state = context.get("State") if isinstance(context, Mapping) else None
    entered = state.get("EnteredTime") if isinstance(state, Mapping) else None
    if isinstance(entered, str):
        try:
            return datetime.fromisoformat(entered)
        except ValueError:
            return None
    return entered if isinstance(entered, datetime) else None


def _resolve(template: Any, variables: dict[str, Any], field: str) -> Any:
    if isinstance(template, dict):
        return {
            key: _resolve(value, variables, f"{field}/{key}" if field else key)
            for key, value in template.items()
        }
    if isinstance(template, list):
        return [
            _resolve(value, variables, f"{field}/{index}" if field else str(index))
            for index, value in enumerate(template)
        ]
    expression = jsonata_expression(template)
    if expression is None:
        return template
    return _evaluate(expression, variables, field)


_TOO_DEEP = "is nested too deeply to evaluate (its parentheses, paths or calls recurse too far)"


_depth_lock = threading.Lock()
_deep_calls = 0  # parses and evaluations running now, in any thread
_limit_before = _LIMIT


@contextmanager
def _deep() -> Iterator[None]:
    """The recursion limit at :data:`RECURSION_LIMIT` for the block, and back to what it was
    once no thread is inside one (a limit only ever raised meanwhile, never lowered under a
    thread that needs it)."""
    global _deep_calls, _limit_before
    with _depth_lock:
        if _deep_calls == 0:
            _limit_before = sys.getrecursionlimit()
            if _limit_before < RECURSION_LIMIT:
                sys.setrecursionlimit(RECURSION_LIMIT)
        _deep_calls += 1
    try:
        yield
    finally:
        with _depth_lock:
            _deep_calls -= 1
            if _deep_calls == 0:
                sys.setrecursionlimit(_limit_before)


def _shortened(expression: str) -> str:
    text = expression.strip()
    return text if len(text) <= 80 else f"{text[:77]}..."


def _where(expression: str, field: str) -> str:
    named = f" specified for the field '{field}'" if field else ""
    return f"The JSONata expression '{expression.strip()}'{named}"


# The deadline of the evaluation running in this thread (time.monotonic()), if any.
_running = threading.local()


def _remaining() -> float | None:
    deadline: float | None = getattr(_running, "deadline", None)
    return None if deadline is None else max(deadline - time.monotonic(), 0.001)


def _overrun() -> StatesError:
    return StatesError(QUERY_EVALUATION_ERROR, f"ran longer than {EVALUATION_SECONDS:g} s")


def _on_step(expr: Any, input: Any, environment: Any) -> None:
    """Called by the library as it enters each step of an expression: the deadline, and every
    :data:`_MEMORY_CHECK_S` once it has run that long, the process's growth since the first
    look."""
    deadline = getattr(_running, "deadline", None)
    if deadline is None:
        return
    now = time.monotonic()
    if now > deadline:
        raise _overrun()
    if now >= _running.memory_at:
        _running.memory_at = now + _MEMORY_CHECK_S
        resident = _resident_bytes()
        if _running.memory_base is None:
            _running.memory_base = resident
        elif resident - _running.memory_base > EVALUATION_MEMORY_BYTES:
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"used more than {EVALUATION_MEMORY_BYTES // 2**20} MB of memory",
            )


def _resident_bytes() -> int:
    """This process's resident memory (opened each time: a forked process has its own)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_BYTES
    except (OSError, ValueError, IndexError):
        return 0


class _Pattern:
    """A regular expression matched by ``regex`` under the running evaluation's deadline, without
    holding the interpreter's lock (``concurrent``): the methods the library calls."""

    __slots__ = ("_pattern",)

    def __init__(self, pattern: Any) -> None:
        self._pattern = pattern

    def search(self, string: str) -> Any:
        return self._bounded(lambda t: self._pattern.search(string, concurrent=True, timeout=t))

    def finditer(self, string: str) -> Any:
        # Matched at once, not lazily: the deadline is the evaluation's, running now.
        return iter(
            self._bounded(
                lambda t: list(self._pattern.finditer(string, concurrent=True, timeout=t))
            )
        )

    def sub(self, repl: Any, string: str, count: int = 0) -> str:
        return str(
            self._bounded(
                lambda t: self._pattern.sub(repl, string, count, concurrent=True, timeout=t)
            )
        )

    def split(self, string: str, maxsplit: int = 0) -> list[str]:
        return list(
            self._bounded(
                lambda t: self._pattern.split(string, maxsplit, concurrent=True, timeout=t)
            )
        )

    @staticmethod
    def _bounded(match: Callable[[float | None], Any]) -> Any:
        try:
            return match(_remaining())
        except TimeoutError:
            raise _overrun() from None


class _Refused(Exception):
    """An expression refused before it runs: a regular expression the ``regex`` module cannot
    compile, or a variable that would hide the library's step callback (and so the deadline)."""


# The library looks its step callbacks up as variables: binding one would lift the deadline.
_CALLBACK_NAME = re.compile(r"\$__evaluate_(entry|exit)\b")
_CALLBACK_VARIABLES = ("__evaluate_entry", "__evaluate_exit")


def _regex_engine(pattern: str, flags: RegexFlags) -> _Pattern:
    options = regex.VERSION0
    if flags.case_insensitive:
        options |= regex.IGNORECASE
    if flags.multiline:
        options |= regex.MULTILINE
    try:
        return _Pattern(regex.compile(pattern, options))
    except regex.error as exc:
        raise _Refused(f"the regular expression /{pattern}/ is not valid: {exc}") from None


@functools.lru_cache(maxsize=CACHED_EXPRESSIONS)
def _compile(expression: str) -> Any:
    named = _CALLBACK_NAME.search(expression)
    if named:
        raise _Refused(f"the variable {named.group()} is reserved")
    compiled = Jsonata(expression, _regex_engine)
    # Keep null (a value) apart from undefined (nothing): only the second is an error.
    compiled.set_output_convert_nulls(False)
    compiled.environment.set_evaluate_entry_callback(_on_step)
    return compiled


def _evaluate(expression: str, variables: dict[str, Any], field: str) -> Any:
    try:
        with _deep():
            compiled = _compile(expression)
    except JException as exc:
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"{_where(expression, field)} is not valid JSONata: {_message(exc, expression)}",
        ) from exc
    except _Refused as exc:
        raise StatesError(
            QUERY_EVALUATION_ERROR, f"{_where(expression, field)} is not valid JSONata: {exc}"
        ) from None
    except RecursionError:
        raise StatesError(
            QUERY_EVALUATION_ERROR, f"{_where(_shortened(expression), field)} {_TOO_DEEP}"
        ) from None
    outer = getattr(_running, "deadline", None)
    if outer is None:  # not inside another evaluation: a budget of its own
        started = time.monotonic()
        _running.deadline = started + EVALUATION_SECONDS
        _running.memory_at = started + _MEMORY_CHECK_S  # a short evaluation never looks
        _running.memory_base = None
    try:
        with _deep():
            result = compiled.evaluate(None, variables)
    except StatesError as exc:  # raised by one of the functions Step Functions adds
        raise StatesError(exc.error, f"{_where(expression, field)} failed: {exc.cause}") from exc
    except JException as exc:
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"{_where(expression, field)} failed: {_message(exc, expression)}",
        ) from exc
    except RecursionError:
        raise StatesError(
            QUERY_EVALUATION_ERROR, f"{_where(_shortened(expression), field)} {_TOO_DEEP}"
        ) from None
    except ZeroDivisionError as exc:  # JSONata's number out of range (Infinity, NaN)
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"{_where(expression, field)} failed: D1001: Number out of range (a division by 0)",
        ) from exc
    except TypeError as exc:
        if "NullValue" not in str(exc):  # the library's own value for null, met as a number
            raise StatesError(
                QUERY_EVALUATION_ERROR, f"{_where(expression, field)} failed: {exc}"
            ) from exc
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"{_where(expression, field)} failed: a function was given null where its "
            "signature does not take it (code T0410)",
        ) from exc
    except Exception as exc:  # the library raises other plain Python errors too
        raise StatesError(
            QUERY_EVALUATION_ERROR, f"{_where(expression, field)} failed: {exc}"
        ) from exc
    finally:
        if outer is None:
            _running.deadline = None
    if result is None:
        raise StatesError(
            QUERY_EVALUATION_ERROR, f"{_where(expression, field)} returned nothing (undefined)."
        )
    try:
        return _plain(result)
    except StatesError as exc:
        raise StatesError(exc.error, f"{_where(expression, field)} failed: {exc.cause}") from None
    except TypeError:
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"{_where(expression, field)} returned an unsupported result type.",
        ) from None


#: The library's table of messages says "Object" wherever JSONata's says "function" ("Argument
#: 1 of Object substring does not match Object signature"); JSONata's own table writes an
#: object in lower case, so every capitalised "Object" is a function.
_OBJECT_FOR_FUNCTION = re.compile(r"\bObject\b")


#: JSONata's names of the kinds a signature letter stands for ("must be an array of numbers").
_KINDS = {
    "a": "arrays",
    "b": "booleans",
    "f": "functions",
    "n": "numbers",
    "o": "objects",
    "s": "strings",
}
_ARRAY_OF = re.compile(r"must be an array of ([abfnos])$")
#: The call whose argument a position falls in: its function's name.
_CALLED = re.compile(r"\$(\w+)\s*\(")


def _message(exc: JException, expression: str = "") -> str:
    """The error in JSONata's words with its code, and its position when the library knows it
    (-1: it does not). The library leaves some of its words out: a signature's letter for the
    kind of array it wants ("an array of n"), the argument and function it refused ("Argument
    None of function None", for a null argument): they are put back, the function read from
    ``expression`` at the position."""
    where = exc.location
    known = isinstance(where, int) and where >= 0
    said = _OBJECT_FOR_FUNCTION.sub("function", str(exc))
    said = _ARRAY_OF.sub(lambda m: f"must be an array of {_KINDS[m.group(1)]}", said)
    if said.startswith("Argument None of function None"):
        calls = list(_CALLED.finditer(expression[: where if known else len(expression)]))
        function = f"function {calls[-1].group(1)}" if calls else "a function"
        said = said.replace("Argument None of function None", f"An argument of {function}", 1)
    return f"{said} (code {exc.error}{f', position {where}' if known else ''})"


def _plain(value: Any) -> Any:
    """JSONata's result as plain JSON values; a function or other object is a TypeError, and
    one that would hold more than :data:`MAX_RESULT_VALUES` values a StatesError."""
    if isinstance(value, list | dict):
        _within_values(value)
    return _plain_values(value)


def _within_values(value: Any) -> None:
    """Refuse ``value`` when written out it holds more than :data:`MAX_RESULT_VALUES` values.

    Counted once per distinct list or object: an expression can make one that holds another
    twice (``{'l': $a, 'r': $a}``) forty times over in microseconds, a terabyte when written out.
    """
    sizes: dict[int, int] = {}
    keep: list[Any] = []  # the ids stay those of live objects

    def size(node: Any) -> int:
        if not isinstance(node, list | dict):
            return 1
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        for item in node if isinstance(node, list) else node.values():
            total += size(item)
            if total > MAX_RESULT_VALUES:
                raise StatesError(
                    QUERY_EVALUATION_ERROR,
                    f"a value holds more than {MAX_RESULT_VALUES} values written out",
                )
        keep.append(node)
        sizes[id(node)] = total
        return total

    size(value)


_library_descendants = Jsonata.evaluate_descendants


def _descendants(self: Any, expr: Any, input: Any) -> Any:
    """JSONata's ``**``, refusing a value too large written out: the library lists every
    descendant in one step, which neither the deadline nor the memory look can stop, and a value
    holding another twice at each of forty levels has 2**40 of them."""
    if isinstance(input, list | dict):
        _within_values(input)
    return _library_descendants(self, expr, input)


Jsonata.evaluate_descendants = _descendants


def _plain_values(value: Any) -> Any:
    if value is Utils.NULL_VALUE or value is None:
        return None
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(value)
        return int(value) if value.is_integer() and abs(value) < _EXACT else value
    if isinstance(value, list):
        return [_plain_values(item) for item in value if item is not None]
    if isinstance(value, dict):
        return {str(k): _plain_values(v) for k, v in value.items() if v is not None}
    raise TypeError(type(value).__name__)


# -- the functions Step Functions adds --------------------------------------------------------


class _Function(Jsonata.JFunctionCallable):  # type: ignore[misc]
    def __init__(self, name: str, body: Callable[..., Any]) -> None:
        self.name = name
        self.body = body

    def call(self, input: Any, args: Any) -> Any:
        return self.body(*(args or []))


def _fail(name: str, problem: str) -> StatesError:
    return StatesError(QUERY_EVALUATION_ERROR, f"${name}: {problem}")


def _whole(name: str, argument: str, value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _fail(name, f"the {argument} must be an integer, got {value!r}")


def _partition(array: Any, size: Any) -> list[Any]:
    items = list(array) if isinstance(array, list) else [array]
    chunk = _whole("partition", "chunk size", size)
    if chunk <= 0:
        raise _fail("partition", f"the chunk size must be positive, got {chunk}")
    return [items[i : i + chunk] for i in range(0, len(items), chunk)]


def _range(start: Any, end: Any, step: Any = None) -> list[int]:
    first = _whole("range", "start", start)
    last = _whole("range", "end", end)
    by = 1 if step is None else _whole("range", "step", step)
    if by == 0:
        raise _fail("range", "the step must not be 0")
    count = max(0, (last - first) // by + 1)
    if count > MAX_RANGE_ITEMS:
        raise _fail("range", f"the range has {count} items; at most {MAX_RANGE_ITEMS}")
    return [first + i * by for i in range(count)]


def _pad(string: Any, width: Any, char: Any = None) -> Any:
    from jsonata.functions import Functions  # type: ignore[import-untyped]

    if isinstance(width, int | float) and math.isfinite(width) and abs(width) > MAX_PAD_WIDTH:
        raise _fail("pad", f"the width is {int(width)}; at most {MAX_PAD_WIDTH} characters")
    return Functions.pad(string, width, char)


def _string(value: Any, prettify: Any = None) -> Any:
    """JSONata's ``$string``, refusing a value too large written out (one step: neither the
    deadline nor the memory look could stop it writing out a value that holds another twice,
    forty times over)."""
    from jsonata.functions import Functions

    if isinstance(value, list | dict):
        _within_values(value)
    return Functions.string(value, prettify)


def _hash(data: Any, algorithm: Any) -> str:
    digest = HASHES.get(algorithm)
    if digest is None:
        raise _fail("hash", f"the algorithm must be one of {', '.join(HASHES)}, got {algorithm!r}")
    if not isinstance(data, str):
        data = json.dumps(_plain(data), separators=(",", ":"))
    return str(digest(data.encode()).hexdigest())


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise _fail("parse", f"the argument must be a string, got {type(text).__name__}")
    try:
        return _nulls(json.loads(text))
    except ValueError as exc:
        raise _fail("parse", f"the argument is not valid JSON: {exc}") from exc


def _no_eval(*_: Any) -> Any:
    # Step Functions leaves $eval out of its JSONata: a template evaluates what it says.
    raise _fail("eval", "is not supported by Step Functions; use $parse to read JSON text")


def _nulls(value: Any) -> Any:
    """JSON's null as JSONata's null value (Python's None is JSONata's undefined)."""
    if value is None:
        return Utils.NULL_VALUE
    if isinstance(value, list):
        return [_nulls(item) for item in value]
    if isinstance(value, dict):
        return {key: _nulls(item) for key, item in value.items()}
    return value


def _functions(random: Random, now: datetime | None) -> dict[str, Any]:
    def random_number(seed: Any = None) -> float:
        if seed is not None:
            return Random(seed if isinstance(seed, int | float | str) else str(seed)).random()
        return random.random()

    def new_uuid() -> str:
        return str(uuid.UUID(int=random.getrandbits(128), version=4))

    functions: dict[str, Any] = {
        "partition": Jsonata.JFunction(_Function("partition", _partition), "<an:a>"),
        "pad": Jsonata.JFunction(_Function("pad", _pad), "<s-ns?:s>"),
        "string": Jsonata.JFunction(_Function("string", _string), "<x-b?:s>"),
        "range": Jsonata.JFunction(_Function("range", _range), "<nnn?:a>"),
        "hash": Jsonata.JFunction(_Function("hash", _hash), "<xs:s>"),
        "random": Jsonata.JFunction(_Function("random", random_number), "<j?:n>"),
        "uuid": Jsonata.JFunction(_Function("uuid", new_uuid), "<:s>"),
        "parse": Jsonata.JFunction(_Function("parse", _parse), "<s:x>"),
        "eval": Jsonata.JFunction(_Function("eval", _no_eval), "<sx?:x>"),
        # the library's own, answering in JSONata's words where it raised Python's
        "number": Jsonata.JFunction(_Function("number", number), "<(nsb)-:n>"),
        "toMillis": Jsonata.JFunction(_Function("toMillis", to_millis), "<s-s?:n>"),
        "sort": Jsonata.JFunction(_Function("sort", sort), "<af?:a>"),
        "power": Jsonata.JFunction(_Function("power", power), "<n-n:n>"),
        "decodeUrl": Jsonata.JFunction(
            _Function("decodeUrl", decoding("decodeUrl", library("decode_url"))), "<s-:s>"
        ),
        "decodeUrlComponent": Jsonata.JFunction(
            _Function(
                "decodeUrlComponent",
                decoding("decodeUrlComponent", library("decode_url_component")),
            ),
            "<s-:s>",
        ),
    }
    if now is not None:
        instant = now if now.tzinfo else now.replace(tzinfo=UTC)
        millis = int(instant.timestamp() * 1000)

        def fixed_now(picture: Any = None, timezone: Any = None) -> Any:
            from jsonata.functions import Functions

            return Functions.datetime_from_millis(millis, picture, timezone)

        functions["now"] = Jsonata.JFunction(_Function("now", fixed_now), "<s?s?:s>")
        functions["millis"] = Jsonata.JFunction(_Function("millis", lambda: millis), "<:n>")
    return functions
