"""Parsing MLflow's run search syntax: filter strings and ``order_by`` clauses.

The grammar is MLflow's (``mlflow.utils.search_utils.SearchUtils``), written here as a small
hand-made scanner so that every error can name the column it happened at::

    filter     := condition (AND condition)*        AND is case-insensitive; OR is refused
    condition  := key comparator value
                | key IS [NOT] NULL
                | key [NOT] IN '(' string (',' string)* ')'
    key        := [entity '.'] name                 no entity means ``attributes``
    entity     := metric(s) | param(s) | parameter(s) | tag(s)
                | attribute(s) | attr | run | dataset(s)    optionally in backticks
    name       := [\\w.]+ | `quoted` | "quoted" | 'quoted'
    value      := 'string' | "string" | number      number: -1, 2.5, .5, 1e-3, 1E3
    order_by   := key [ASC | DESC]

What each entity accepts (as MLflow):

=============  ==============================================  ================================
entity         comparators                                     value
=============  ==============================================  ================================
metrics        ``= != < <= > >=``                              number
params, tags   ``= != LIKE ILIKE IS NULL IS NOT NULL``         string
attributes     ``= != LIKE ILIKE`` (+ ``IN``/``NOT IN`` for    string
               ``run_id``) on run_id, run_name, status,
               user_id, artifact_uri
               ``= != < <= > >=`` on start_time, end_time      number
datasets       ``= != LIKE ILIKE IN NOT IN`` on name, digest,  string, or a list of strings
               context
=============  ==============================================  ================================

Attribute aliases, as MLflow: ``created``/``Created`` mean ``start_time``; ``run name``,
``Run name`` and ``Run Name`` mean ``run_name``.

Where Dockyard differs from MLflow, it is stricter or less surprising: a dangling ``AND`` or an
empty key is an error (MLflow ignores the one and matches nothing with the other); inside a quoted
string or key, a doubled quote or a backslash before the quote stands for the quote, and ``\\\\``
for one backslash (MLflow keeps the escape characters in the value); ``+1`` and ``1e+3`` are
numbers; the ``run name`` aliases work in ``order_by`` too. A filter of only whitespace means "no
filter". NUL and unpaired surrogates are refused (no database can store them), and a filter is
bounded: at most :data:`MAX_CONDITIONS` conditions, :data:`MAX_LIST_VALUES` list values and
:data:`MAX_LIKE_PATTERN` characters per pattern; at most :data:`MAX_ORDER_KEYS` order keys.

The same scanner reads the searches of other resources, each described by a :class:`Grammar`:
experiments (``name``, ``creation_time``, ``last_update_time``, ``tags.*``), registered models
(``name``, ``tags.*``; ``order_by`` also takes MLflow's ``timestamp``, the last update), model
versions (``name``, ``run_id``, ``source_path``,
``version_number``, ``tags.*``) and MLflow 3 logged models (``name``, ``model_id``, ``status``,
``model_type``, ``source_run_id``, creation and update times, ``metrics.*``, ``params.*``,
``tags.*``). :data:`RUNS` is the grammar above.

Every error is :class:`~dockyard.errors.InvalidArgument` with ``field="filter"`` (or
``order_by.<i>``), a message of the form ``invalid filter at column 17: <what was expected and what
was found>`` and the 1-based column in ``details["column"]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NoReturn, TypeAlias

from dockyard.errors import InvalidArgument

__all__ = [
    "ATTRIBUTES",
    "EXPERIMENTS",
    "LOGGED_MODELS",
    "MAX_CONDITIONS",
    "MAX_LIKE_PATTERN",
    "MAX_LIST_VALUES",
    "MAX_ORDER_KEYS",
    "MODEL_VERSIONS",
    "REGISTERED_MODELS",
    "RUNS",
    "Condition",
    "Entity",
    "Grammar",
    "OrderKey",
    "parse_filter",
    "parse_order_by",
]

Entity: TypeAlias = Literal["metric", "param", "tag", "attribute", "dataset"]
Value: TypeAlias = float | int | str | tuple[str, ...] | None

# A filter compiles to one SQL condition (often a subquery) per clause, and SQLite parses a chain
# of ANDs as a tree whose depth is capped at 1000: stay far below it.
MAX_CONDITIONS = 100
# Each order key may join a table, and SQLite joins at most 64.
MAX_ORDER_KEYS = 20
# SQLite caps a statement's bound parameters at 32766; every list value is one.
MAX_LIST_VALUES = 10_000
# SQLite refuses LIKE/GLOB patterns over 50,000 bytes; 5,000 characters stay under it even as
# 4-byte UTF-8 with GLOB's three-character escapes.
MAX_LIKE_PATTERN = 5_000

_ENTITIES: dict[str, Entity] = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "dataset": "dataset",
    "datasets": "dataset",
}

#: Searchable and orderable run attributes, as MLflow's ``RunInfo``, and whether each is numeric.
ATTRIBUTES: dict[str, bool] = {
    "run_id": False,
    "run_name": False,
    "status": False,
    "user_id": False,
    "artifact_uri": False,
    "start_time": True,
    "end_time": True,
}
_ATTRIBUTE_ALIASES = {
    "created": "start_time",
    "Created": "start_time",
    "run name": "run_name",
    "Run name": "run_name",
    "Run Name": "run_name",
}
_DATASET_FIELDS = ("name", "digest", "context")

_NUMERIC_COMPARATORS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_COMPARATORS = ("=", "!=", "LIKE", "ILIKE")
_ALLOWED: dict[Entity, tuple[str, ...]] = {
    "metric": _NUMERIC_COMPARATORS,
    "param": (*_STRING_COMPARATORS, "IS NULL", "IS NOT NULL"),
    "tag": (*_STRING_COMPARATORS, "IS NULL", "IS NOT NULL"),
    "attribute": (*_STRING_COMPARATORS, "IN", "NOT IN"),
    "dataset": (*_STRING_COMPARATORS, "IN", "NOT IN"),
}
_PLURAL = {
    "metric": "metrics",
    "param": "params",
    "tag": "tags",
    "attribute": "attributes",
    "dataset": "datasets",
}


@dataclass(frozen=True, slots=True)
class Grammar:
    """What one kind of resource can be searched and ordered by.

    Attributes:
        resource: The resource's plural, for messages (``runs``, ``experiments``).
        entities: The entities its keys may name; ``attribute`` is always among them.
        attributes: Searchable attribute names, each True when numeric.
        aliases: Other spellings of attribute names.
        listable: Attributes that take ``IN`` and ``NOT IN``.
        allowed: Comparators per string entity (numeric keys take ``= != < <= > >=``).
        orderable: Attributes ``order_by`` accepts, when not all of them.
        order_aliases: Other spellings ``order_by`` (only) accepts.
    """

    resource: str
    entities: frozenset[Entity]
    attributes: dict[str, bool]
    aliases: dict[str, str]
    listable: frozenset[str]
    allowed: dict[Entity, tuple[str, ...]]
    orderable: frozenset[str] | None = None
    order_aliases: dict[str, str] = field(default_factory=dict)

    def entity_names(self) -> str:
        names = [_PLURAL[e] for e in ("metric", "param", "tag", "attribute", "dataset")]
        return ", ".join(n for n in names if _SINGULAR[n] in self.entities)


_SINGULAR = {plural: entity for entity, plural in _PLURAL.items()}

#: MLflow's run search.
RUNS = Grammar(
    resource="runs",
    entities=frozenset(("metric", "param", "tag", "attribute", "dataset")),
    attributes=ATTRIBUTES,
    aliases=_ATTRIBUTE_ALIASES,
    listable=frozenset(("run_id",)),
    allowed=_ALLOWED,
)
_TAG_ONLY = (*_STRING_COMPARATORS, "IS NULL", "IS NOT NULL")
#: MLflow's experiment search.
EXPERIMENTS = Grammar(
    resource="experiments",
    entities=frozenset(("tag", "attribute")),
    attributes={
        "name": False,
        "experiment_id": False,
        "creation_time": True,
        "last_update_time": True,
    },
    aliases={},
    listable=frozenset(),
    allowed={"tag": _TAG_ONLY, "attribute": _STRING_COMPARATORS},
)
#: MLflow's registered-model search.
REGISTERED_MODELS = Grammar(
    resource="registered models",
    entities=frozenset(("tag", "attribute")),
    attributes={"name": False, "creation_timestamp": True, "last_updated_timestamp": True},
    aliases={},
    listable=frozenset(("name",)),
    allowed={"tag": _STRING_COMPARATORS, "attribute": (*_STRING_COMPARATORS, "IN", "NOT IN")},
    # MLflow's registry orders models by "timestamp", the key its client documents: the time of
    # the last update, as "last_updated_timestamp" (it is no filter key there).
    order_aliases={"timestamp": "last_updated_timestamp"},
)
#: MLflow's model-version search.
MODEL_VERSIONS = Grammar(
    resource="model versions",
    entities=frozenset(("tag", "attribute")),
    attributes={
        "name": False,
        "run_id": False,
        "source_path": False,
        "version_number": True,
        "creation_timestamp": True,
        "last_updated_timestamp": True,
    },
    aliases={},
    listable=frozenset(("name", "run_id")),
    allowed={"tag": _STRING_COMPARATORS, "attribute": (*_STRING_COMPARATORS, "IN", "NOT IN")},
)
_ANY_STRING = (*_STRING_COMPARATORS, "IN", "NOT IN")
#: MLflow 3's logged-model search.
LOGGED_MODELS = Grammar(
    resource="logged models",
    entities=frozenset(("metric", "param", "tag", "attribute")),
    attributes={
        "model_id": False,
        "name": False,
        "status": False,
        "model_type": False,
        "source_run_id": False,
        "creation_timestamp": True,
        "last_updated_timestamp": True,
    },
    aliases={
        "creation_time": "creation_timestamp",
        "creation_timestamp_ms": "creation_timestamp",
        "last_updated_timestamp_ms": "last_updated_timestamp",
    },
    listable=frozenset(("model_id", "name", "status", "model_type", "source_run_id")),
    allowed={
        "metric": _NUMERIC_COMPARATORS,
        "param": _ANY_STRING,
        "tag": _ANY_STRING,
        "attribute": _ANY_STRING,
    },
)

_WHITESPACE = re.compile(r"\s*")
_WORD = re.compile(r"\w+")
_BARE_NAME = re.compile(r"[\w.]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_BAD_NUMBER = re.compile(r"[\w.+-]{1,40}")
# What to quote back to the user as "got ...": a word, a quoted string, an operator or one char.
_SHOWN_TOKEN = re.compile(r"""\w+|'[^']*'?|"[^"]*"?|`[^`]*`?|[<>=!]+|\S""")
# NUL cannot be stored in a PostgreSQL text value, and lone surrogates cannot be encoded as UTF-8:
# either would fail inside the database driver instead of here.
_UNSENDABLE = re.compile("[\x00\ud800-\udfff]")
_SYMBOLS = ("!=", "<=", ">=", "==", "<>", "<", ">", "=")
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Condition:
    """One parsed ``key comparator value`` clause of a filter.

    Attributes:
        entity: What the key names: a metric, param, tag, run attribute or dataset field.
        key: The name, unquoted; attribute aliases are resolved (``created`` -> ``start_time``).
        comparator: Upper-case: ``= != < <= > >= LIKE ILIKE IN NOT IN IS NULL IS NOT NULL``.
        value: ``float`` for metrics, ``int`` or ``float`` for numeric attributes, ``str`` for
            strings, a tuple of strings for ``IN``/``NOT IN``, ``None`` for ``IS [NOT] NULL``.
        column: 1-based position of the clause in the filter string.
    """

    entity: Entity
    key: str
    comparator: str
    value: Value
    column: int


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One parsed ``order_by`` clause.

    Attributes:
        entity: ``metric``, ``param``, ``tag`` or ``attribute`` (datasets cannot order runs).
        key: The name, unquoted, with attribute aliases resolved.
        ascending: False for ``DESC``.
    """

    entity: Entity
    key: str
    ascending: bool


@dataclass(frozen=True, slots=True)
class _Key:
    entity: Entity
    name: str
    source: str  # as written, to quote back in messages
    start: int


def parse_filter(filter_string: str, grammar: Grammar = RUNS) -> list[Condition]:
    """Parse an MLflow run filter such as ``metrics.rmse < 1 and params.depth = '5'``.

    Args:
        filter_string: The filter; empty or only whitespace means no condition.
        grammar: What the searched resource's keys may be (runs by default).

    Returns:
        The conditions, in the order written; a run matches when all of them hold.

    Raises:
        InvalidArgument: ``field="filter"``; the message names the column and the problem.
    """
    return _Scanner(filter_string, "filter", "filter", grammar).filter()


def parse_order_by(order_by: Sequence[str], grammar: Grammar = RUNS) -> list[OrderKey]:
    """Parse MLflow ``order_by`` clauses such as ``["metrics.rmse DESC", "params.lr"]``.

    Raises:
        InvalidArgument: ``field="order_by.<i>"`` for a malformed clause or a key ordered twice.
    """
    if len(order_by) > MAX_ORDER_KEYS:
        raise InvalidArgument(
            f"too many order_by clauses ({len(order_by)}): at most {MAX_ORDER_KEYS}",
            field="order_by",
        )
    keys: list[OrderKey] = []
    seen: dict[tuple[Entity, str], int] = {}
    for index, clause in enumerate(order_by):
        scanner = _Scanner(clause, f"order_by[{index}]", f"order_by.{index}", grammar)
        key = scanner.order_key()
        first = seen.setdefault((key.entity, key.key), index)
        if first != index:
            scanner.fail(
                f"{_PLURAL[key.entity]}.{key.key} is already ordered by order_by[{first}]", 0
            )
        keys.append(key)
    return keys


class _Scanner:
    """A cursor over one filter or order_by string; every method consumes what it recognises."""

    def __init__(self, text: str, what: str, field: str, grammar: Grammar = RUNS) -> None:
        self.grammar = grammar
        self.text = text
        self.what = what
        self.field = field
        self.pos = 0
        self.list_values = 0
        bad = _UNSENDABLE.search(text)
        if bad:
            self.fail(f"character U+{ord(bad.group()):04X} is not allowed", bad.start())

    # -- errors and low-level scanning ------------------------------------------------------

    def fail(self, message: str, at: int) -> NoReturn:
        column = at + 1
        raise InvalidArgument(
            f"invalid {self.what} at column {column}: {message}",
            field=self.field,
            details={"column": column},
        )

    def shown(self, at: int | None = None) -> str:
        """The token at ``at`` (default: the cursor), for "got ..." in messages."""
        at = self.pos if at is None else at
        if at >= len(self.text):
            return f"the end of the {self.what.split('[')[0]}"
        match = _SHOWN_TOKEN.match(self.text, at)
        token = match.group() if match else self.text[at]
        return repr(token if len(token) <= 40 else token[:37] + "...")

    def skip_whitespace(self) -> None:
        match = _WHITESPACE.match(self.text, self.pos)
        if match:
            self.pos = match.end()

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def word(self) -> str | None:
        """The word at the cursor, without consuming it."""
        match = _WORD.match(self.text, self.pos)
        return match.group() if match else None

    def take_word(self, upper: str) -> bool:
        """Consume the keyword ``upper`` (any case) if it is the next word."""
        word = self.word()
        # ASCII only: str.upper() maps some other letters onto ASCII ones (dotless i, U+0131).
        if word is not None and word.isascii() and word.upper() == upper:
            self.pos += len(word)
            return True
        return False

    def quoted(self) -> str:
        """Consume a string or key in ', " or ` quotes and return its unescaped content."""
        quote, start = self.text[self.pos], self.pos
        out: list[str] = []
        i = start + 1
        text = self.text
        while i < len(text):
            char = text[i]
            if char == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
                out.append(text[i + 1])
                i += 2
            elif char == quote:
                if i + 1 < len(text) and text[i + 1] == quote:
                    out.append(quote)
                    i += 2
                else:
                    self.pos = i + 1
                    return "".join(out)
            else:
                out.append(char)
                i += 1
        self.fail(f"unterminated {quote} quote", start)

    # -- grammar ----------------------------------------------------------------------------

    def filter(self) -> list[Condition]:
        conditions: list[Condition] = []
        self.skip_whitespace()
        if self.at_end():
            return conditions
        while True:
            if len(conditions) == MAX_CONDITIONS:
                self.fail(f"too many conditions: at most {MAX_CONDITIONS}", self.pos)
            conditions.append(self.condition())
            self.skip_whitespace()
            if self.at_end():
                return conditions
            at = self.pos
            if self.take_word("AND"):
                self.skip_whitespace()
                if self.at_end():
                    self.fail("expected a condition after AND, got the end of the filter", at)
                continue
            if self.take_word("OR"):
                self.fail("OR is not supported: conditions can only be combined with AND", at)
            self.fail(f"expected AND between conditions, got {self.shown()}", at)

    def order_key(self) -> OrderKey:
        self.skip_whitespace()
        if self.at_end():
            self.fail("empty clause: expected a key such as metrics.rmse", self.pos)
        key = self.key(self.grammar.order_aliases)
        if key.entity == "dataset":
            self.fail("runs cannot be ordered by dataset fields", key.start)
        orderable = self.grammar.orderable
        if key.entity == "attribute" and orderable is not None and key.name not in orderable:
            self.fail(
                f"{self.grammar.resource} cannot be ordered by {key.name!r}: use one of "
                f"{', '.join(sorted(orderable))}",
                key.start,
            )
        ascending = True
        after_key = self.pos
        self.skip_whitespace()
        if not self.at_end():
            if self.take_word("DESC"):
                ascending = False
            elif not self.take_word("ASC"):
                self.fail(
                    f"expected ASC or DESC after {key.source!r}, got {self.shown()}"
                    f"{self.backticks_hint(key)}",
                    self.pos if self.pos > after_key else after_key,
                )
            self.skip_whitespace()
            if not self.at_end():
                self.fail(f"unexpected {self.shown()} after the direction", self.pos)
        return OrderKey(key.entity, key.name, ascending)

    def key(self, aliases: Mapping[str, str] | None = None) -> _Key:
        start = self.pos
        text = self.text
        char = text[start] if start < len(text) else ""
        if char in ("`", '"'):
            head = self.quoted()
        elif match := _WORD.match(text, start):
            head = match.group()
            self.pos = match.end()
        else:
            self.fail(f"expected a key such as metrics.rmse, got {self.shown()}", start)
        if self.pos < len(text) and text[self.pos] == "." and char != '"':
            if _ENTITIES.get(head) not in self.grammar.entities:
                self.fail(
                    f"unknown entity {head!r}: use {self.grammar.entity_names()}",
                    start,
                )
            entity = _ENTITIES[head]
            self.pos += 1
            name_at = self.pos
            if self.pos < len(text) and text[self.pos] in ("`", '"', "'"):
                name = self.quoted()
            elif match := _BARE_NAME.match(text, self.pos):
                name = match.group()
                self.pos = match.end()
            else:
                self.fail(
                    f"expected a name after {text[start:name_at]!r}, got {self.shown()}", name_at
                )
            if not name:
                self.fail("empty key name", name_at)
        else:
            entity, name = "attribute", head
        source = text[start : self.pos]
        if entity == "attribute":
            attributes = self.grammar.attributes
            name = self.grammar.aliases.get(name, name)
            if aliases:
                name = aliases.get(name, name)
            if name not in attributes:
                self.fail(f"unknown attribute {name!r}: use one of {', '.join(attributes)}", start)
        elif entity == "dataset" and name not in _DATASET_FIELDS:
            self.fail(f"unknown dataset field {name!r}: use name, digest or context", start)
        return _Key(entity, name, source, start)

    def comparator(self, key: _Key) -> str:
        at = self.pos
        for symbol in _SYMBOLS:
            if self.text.startswith(symbol, at):
                if symbol in ("==", "<>"):
                    self.fail(
                        f"unknown comparator {symbol!r}: use {'=' if symbol == '==' else '!='}", at
                    )
                self.pos += len(symbol)
                return symbol
        raw = self.word() or ""
        word = raw.upper() if raw.isascii() else ""
        if word in ("LIKE", "ILIKE", "IN"):
            self.pos += len(word)
            return word
        if word in ("NOT", "IS"):
            self.pos += len(word)
            self.skip_whitespace()
            if word == "NOT":
                if self.take_word("IN"):
                    return "NOT IN"
                self.fail(
                    f"expected IN after NOT, got {self.shown()} (only NOT IN is supported)", at
                )
            if self.take_word("NULL"):
                return "IS NULL"
            if self.take_word("NOT"):
                self.skip_whitespace()
                if self.take_word("NULL"):
                    return "IS NOT NULL"
            self.fail(f"expected NULL or NOT NULL after IS, got {self.shown()}", at)
        self.fail(
            f"expected a comparator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, "
            f"IS NOT NULL) after {key.source!r}, got {self.shown()}{self.backticks_hint(key)}",
            at,
        )

    def backticks_hint(self, key: _Key) -> str:
        """When a bare metric, param or tag name runs on into characters a bare name cannot hold
        (``metrics.val/loss``, ``metrics.train:rmse``: names MLflow clients and the built-in
        algorithms log), how to write it: in backticks, as MLflow wants it."""
        if key.entity not in ("metric", "param", "tag") or key.source.endswith(("`", '"', "'")):
            return ""
        # Only what is glued to the name: after a space, a misspelt word (``DOWN``) is likelier
        # than the rest of a name.
        glued = re.match(r"[^\s=!<>`'\"()]+", self.text[key.start + len(key.source) :])
        if not glued:
            return ""
        prefix = key.source[: len(key.source) - len(key.name)]
        return (
            f"; a name with characters other than letters, digits, '_' and '.' goes in "
            f"backticks: {prefix}`{key.name}{glued.group()}`"
        )

    def condition(self) -> Condition:
        key = self.key()
        self.skip_whitespace()
        comparator_at = self.pos
        comparator = self.comparator(key)
        grammar = self.grammar
        numeric = key.entity == "metric" or (
            key.entity == "attribute" and grammar.attributes[key.name]
        )
        allowed = _NUMERIC_COMPARATORS if numeric else grammar.allowed[key.entity]
        if comparator not in allowed:
            if comparator.startswith("IS"):
                reason = "IS NULL and IS NOT NULL only apply to params and tags"
            elif comparator.endswith("IN") and not numeric:
                reason = self._where_in()
            else:
                reason = f"{key.source!r} takes one of {', '.join(allowed)}"
            self.fail(f"{comparator} cannot be used here: {reason}", comparator_at)
        if (
            comparator.endswith("IN")
            and key.entity == "attribute"
            and key.name not in grammar.listable
        ):
            self.fail(f"IN and NOT IN cannot be used here: {self._where_in()}", comparator_at)
        column = key.start + 1
        if comparator.startswith("IS"):
            return Condition(key.entity, key.name, comparator, None, column)
        self.skip_whitespace()
        if comparator.endswith("IN"):
            return Condition(key.entity, key.name, comparator, self.string_list(), column)
        value_at = self.pos
        if numeric:
            text = self.number(f"a number after {key.source} {comparator}")
            value: Value = float(text)
            if key.entity == "attribute" and _INTEGER.fullmatch(text):
                # Compare times as exact integers; a float would lose precision above 2**53.
                if len(text.lstrip("+-")) > 19 or abs(int(text)) > _INT64_MAX:
                    self.fail(f"{text} is out of range for {key.name}", value_at)
                value = int(text)
            return Condition(key.entity, key.name, comparator, value, column)
        string = self.string(f"a quoted string after {key.source} {comparator}")
        if comparator in ("LIKE", "ILIKE") and len(string) > MAX_LIKE_PATTERN:
            self.fail(f"pattern longer than {MAX_LIKE_PATTERN} characters", value_at)
        return Condition(key.entity, key.name, comparator, string, column)

    def _where_in(self) -> str:
        grammar = self.grammar
        places = [f"attributes.{name}" for name in sorted(grammar.listable)]
        places += [
            _PLURAL[e] for e in ("param", "tag", "dataset") if "IN" in grammar.allowed.get(e, ())
        ]
        if not places:
            return f"a search of {grammar.resource} takes no IN or NOT IN"
        listed = ", ".join(places[:-1]) + " and " + places[-1] if len(places) > 1 else places[0]
        return f"IN and NOT IN only apply to {listed}"

    def number(self, expected: str) -> str:
        at = self.pos
        match = _NUMBER.match(self.text, at)
        if match is None:
            if not self.at_end() and self.text[at] in ("'", '"'):
                self.fail(f"expected {expected}, got the string {self.shown()}", at)
            self.fail(f"expected {expected}, got {self.shown()}", at)
        end = match.end()
        if end < len(self.text) and (self.text[end] == "." or _WORD.match(self.text, end)):
            bad = _BAD_NUMBER.match(self.text, at)
            self.fail(f"invalid number {repr(bad.group()) if bad else self.shown(at)}", at)
        self.pos = end
        return match.group()

    def string(self, expected: str) -> str:
        at = self.pos
        if not self.at_end() and self.text[at] in ("'", '"'):
            return self.quoted()
        if not self.at_end() and self.text[at] == "`":
            self.fail("string values take single or double quotes, not backticks", at)
        self.fail(f"expected {expected}, got {self.shown()}", at)

    def string_list(self) -> tuple[str, ...]:
        at = self.pos
        if self.at_end() or self.text[at] != "(":
            self.fail(
                f"expected a parenthesised list of strings such as ('a', 'b'), got {self.shown()}",
                at,
            )
        self.pos += 1
        values: list[str] = []
        while True:
            self.skip_whitespace()
            if not self.at_end() and self.text[self.pos] == ")" and values:
                # A trailing comma, as MLflow (Python tuple syntax) accepts it.
                self.pos += 1
                return tuple(values)
            values.append(self.string("a quoted string in the list"))
            self.list_values += 1
            if self.list_values > MAX_LIST_VALUES:
                self.fail(f"too many list values: at most {MAX_LIST_VALUES}", at)
            self.skip_whitespace()
            if self.at_end():
                self.fail("unterminated list: expected ')'", at)
            char = self.text[self.pos]
            if char == ")":
                self.pos += 1
                return tuple(values)
            if char != ",":
                self.fail(f"expected ',' or ')' in the list, got {self.shown()}", self.pos)
            self.pos += 1
