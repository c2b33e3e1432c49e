"""Compiling parsed run searches into one SQLAlchemy Core query over ``store.schema``.

The query selects only ``runs.run_id``, in result order, with LIMIT/OFFSET; the repository then
loads that page's params, metrics and tags with one ``IN`` query each.

Shape, chosen from SQLite's query plans on 100,000 runs (see ``bench/search.py``). SQLite plans
without statistics, so the shape decides which table drives the query:

* Metrics are read from ``latest_metrics`` only. A metric in ``order_by`` is joined on its primary
  key ``(run_id, key)`` and the filters on that metric go in WHERE: a filter plus an order on the
  same metric then walks the ``(key, value)`` index in order and stops after one page (~3 ms).
* Every other filter is a correlated ``EXISTS`` probing a primary key while ``runs`` is read newest
  first through ``(experiment_id, start_time)``, stopping after one page. That costs a probe per run
  read: nothing for a filter most runs pass, a scan of the experiment (~250 ms per 100,000 runs)
  for one almost none pass. Driving a metric filter from the ``(key, value)`` index instead would
  be fast for rare matches but sort every match otherwise (~550 ms when all 100,000 pass), so the
  bounded cost wins. Params, tags and datasets have no value index to drive from anyway.
* Ordering on a param or tag is a LEFT JOIN on its primary key. Ordering on anything but
  ``start_time`` reads every run of the experiments (~200 ms per 100,000 runs): NULLs and NaNs
  sort last, which no index order gives.

Ordering (as MLflow's SQL store, so both its clients and Dockyard's see the same pages):

* Runs are ordered by each ``order_by`` key in turn, then ``start_time DESC``, then ``run_id``.
* A run without the key (no such metric, param or tag; ``end_time`` not set) sorts **last**, in both
  directions.
* A metric whose latest value is NaN sorts after every number (including +inf) and before the
  runs without that metric, in both directions; NaN runs are ordered among themselves by the
  tie-breakers.
* Strings compare by code point (binary collation) on SQLite and PostgreSQL alike.

Comparisons (as MLflow): a NaN metric fails ``= < <= > >=`` and passes ``!=``; a missing metric,
param or tag fails every comparison, ``!=`` included. ``LIKE`` is case-sensitive and ``ILIKE`` folds
ASCII letters only, on both databases; ``%`` and ``_`` are the wildcards and there is no escape
character (as MLflow on SQLite).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Select,
    String,
    Table,
    and_,
    case,
    exists,
    false,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, UnaryExpression
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Boolean

from dockyard.errors import InvalidArgument
from dockyard.server.store import schema
from dockyard.server.tracking._search_parse import (
    ATTRIBUTES,
    Condition,
    OrderKey,
    parse_filter,
    parse_order_by,
)

__all__ = ["RunViewType", "binary", "build_search_query", "compare", "metric_compare"]

RunViewType = Literal["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]

_STAGES: dict[str, tuple[str, ...] | None] = {
    "ACTIVE_ONLY": ("active",),
    "DELETED_ONLY": ("deleted",),
    "ALL": None,  # every run; no condition to evaluate
}
_INT64_MAX = 2**63 - 1
_DATASET_CONTEXT_TAG = "mlflow.data.context"
# Sort-bucket constants, rendered inline rather than as bound parameters.
_ZERO, _ONE, _TWO = (literal_column(str(n), Integer()) for n in range(3))

_runs = schema.runs
_RUN_COLUMNS: dict[str, ColumnElement[Any]] = {
    "run_id": _runs.c.run_id,
    "run_name": _runs.c.name,
    "status": _runs.c.status,
    "user_id": _runs.c.user_id,
    "artifact_uri": _runs.c.artifact_uri,
    "start_time": _runs.c.start_time,
    "end_time": _runs.c.end_time,
}


def build_search_query(
    experiment_ids: Sequence[int],
    filter_string: str,
    order_by: Sequence[str],
    run_view_type: RunViewType,
    max_results: int,
    offset: int,
) -> Select[Any]:
    """Compile an MLflow-style run search into a query for one page of run ids.

    Args:
        experiment_ids: Experiments to search; none means no run matches.
        filter_string: MLflow filter syntax (see :mod:`dockyard.server.tracking._search_parse`).
        order_by: MLflow ``order_by`` clauses, e.g. ``["metrics.rmse DESC"]``.
        run_view_type: Which lifecycle stages to include.
        max_results: Page size (LIMIT), at least 1.
        offset: Runs to skip (OFFSET), at least 0.

    Returns:
        ``SELECT runs.run_id ... ORDER BY ... LIMIT max_results OFFSET offset``.

    Raises:
        InvalidArgument: a malformed filter (``field="filter"``) or order_by
            (``field="order_by.<i>"``), or an out-of-range argument.
    """
    return _compile(
        experiment_ids,
        parse_filter(filter_string),
        parse_order_by(order_by),
        run_view_type,
        max_results,
        offset,
    )


def _compile(
    experiment_ids: Sequence[int],
    conditions: Sequence[Condition],
    order_keys: Sequence[OrderKey],
    run_view_type: RunViewType,
    max_results: int,
    offset: int,
) -> Select[Any]:
    if run_view_type not in _STAGES:
        raise InvalidArgument(
            f"run_view_type must be ACTIVE_ONLY, DELETED_ONLY or ALL, got {run_view_type!r}",
            field="run_view_type",
        )
    if not 1 <= max_results <= _INT64_MAX:
        raise InvalidArgument(
            f"max_results must be positive, got {max_results}", field="max_results"
        )
    if not 0 <= offset <= _INT64_MAX:
        raise InvalidArgument(
            f"offset must be between 0 and 2**63-1, got {offset}", field="page_token"
        )
    return _Builder(conditions, order_keys).select(
        experiment_ids, _STAGES[run_view_type], max_results, offset
    )


class _Builder:
    def __init__(self, conditions: Sequence[Condition], order_keys: Sequence[OrderKey]) -> None:
        self.conditions = conditions
        self.order_keys = order_keys
        self.from_: FromClause = _runs
        self.joins = 1
        self.where: list[ColumnElement[bool]] = []
        # Keys every matching run has, and metrics it has as a number (not NaN): ordering on them
        # needs no "missing"/"NaN" bucket, which keeps the (key, value) index usable for ORDER BY.
        self.present: set[tuple[str, str]] = set()
        self.numeric: set[str] = set()
        for c in conditions:
            if c.comparator != "IS NULL":
                self.present.add((c.entity, c.key))
            if c.entity == "metric" and c.comparator != "!=":
                self.numeric.add(c.key)
        self.metric_joins: dict[str, FromClause] = {}  # metrics in order_by

    def select(
        self,
        experiment_ids: Sequence[int],
        stages: tuple[str, ...] | None,
        max_results: int,
        offset: int,
    ) -> Select[Any]:
        # Order keys claim their joins first so that a filter on the same metric reuses it.
        order_by = self.order_terms()
        for c in self.conditions:
            self.where.append(self.condition(c))
        self.where.append(_runs.c.experiment_id.in_(list(experiment_ids)))
        if stages is not None:
            self.where.append(_runs.c.lifecycle_stage.in_(stages))
        query = (
            select(_runs.c.run_id)
            .select_from(self.from_)
            .where(*self.where)
            .order_by(*order_by)
            .limit(max_results)
        )
        return query.offset(offset) if offset else query

    # -- joins ------------------------------------------------------------------------------

    def join(self, table: Table, key: str, *, outer: bool) -> FromClause:
        alias = table.alias(f"{table.name}_{self.joins}")
        self.joins += 1
        on = and_(alias.c.run_id == _runs.c.run_id, alias.c.key == key)
        self.from_ = self.from_.join(alias, on, isouter=outer)
        return alias

    # -- WHERE ------------------------------------------------------------------------------

    def condition(self, c: Condition) -> ColumnElement[bool]:
        if c.entity == "attribute":
            return compare(_RUN_COLUMNS[c.key], c.comparator, c.value)
        if c.entity == "metric":
            assert isinstance(c.value, float)
            alias = self.metric_joins.get(c.key)
            if alias is not None:
                return metric_compare(alias, c.comparator, c.value)
            lm = schema.latest_metrics
            return exists().where(
                lm.c.run_id == _runs.c.run_id,
                lm.c.key == c.key,
                metric_compare(lm, c.comparator, c.value),
            )
        if c.entity == "dataset":
            return _dataset_exists(c)
        table = schema.params if c.entity == "param" else schema.tags
        has_key = exists().where(table.c.run_id == _runs.c.run_id, table.c.key == c.key)
        if c.comparator == "IS NULL":
            return ~has_key
        if c.comparator == "IS NOT NULL":
            return has_key
        return has_key.where(compare(table.c.value, c.comparator, c.value))

    # -- ORDER BY ---------------------------------------------------------------------------

    def order_terms(self) -> list[ColumnElement[Any] | UnaryExpression[Any]]:
        terms: list[ColumnElement[Any] | UnaryExpression[Any]] = []

        def add(value: ColumnElement[Any], ascending: bool) -> None:
            terms.append(value.asc() if ascending else value.desc())

        ordered_start_time = False
        for k in self.order_keys:
            if k.entity == "attribute":
                column = _RUN_COLUMNS[k.key]
                ordered_start_time |= k.key == "start_time"
                if k.key == "end_time":  # the one nullable attribute
                    terms.append(case((column.is_(None), _ONE), else_=_ZERO))
                add(column if ATTRIBUTES[k.key] else binary(column), k.ascending)
            elif k.entity == "metric":
                alias = self.join(
                    schema.latest_metrics, k.key, outer=("metric", k.key) not in self.present
                )
                self.metric_joins[k.key] = alias
                value: ColumnElement[Any] = alias.c.value
                if k.key not in self.numeric:
                    # 0 = a number, 1 = NaN, 2 = no such metric; NaN rows hold a placeholder value,
                    # so it must not order them among themselves.
                    terms.append(
                        case(
                            (alias.c.run_id.is_(None), _TWO),
                            (alias.c.is_nan == true(), _ONE),
                            else_=_ZERO,
                        )
                    )
                    value = case((alias.c.is_nan == true(), None), else_=alias.c.value)
                add(value, k.ascending)
            else:
                table = schema.params if k.entity == "param" else schema.tags
                present = (k.entity, k.key) in self.present
                alias = self.join(table, k.key, outer=not present)
                if not present:
                    terms.append(case((alias.c.run_id.is_(None), _ONE), else_=_ZERO))
                add(binary(alias.c.value), k.ascending)
        if not ordered_start_time:
            terms.append(_runs.c.start_time.desc())
        terms.append(binary(_runs.c.run_id))
        return terms


_OPERATORS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compare(column: ColumnElement[Any], comparator: str, value: Any) -> ColumnElement[bool]:
    """``column <comparator> value`` for a parsed condition, with Dockyard's LIKE semantics
    (case-sensitive ``LIKE``, ASCII-folding ``ILIKE``) on SQLite and PostgreSQL alike."""
    if comparator in _OPERATORS:
        return _OPERATORS[comparator](column, value)
    if comparator in ("LIKE", "ILIKE"):
        return _Like(column, value, case_sensitive=comparator == "LIKE")
    if comparator == "IN":
        return column.in_(value)
    if comparator == "NOT IN":
        return column.not_in(value)
    raise AssertionError(f"unhandled comparator {comparator}")  # the parser admits no other


def metric_compare(lm: FromClause, comparator: str, value: float) -> ColumnElement[bool]:
    """A comparison on a table of metric points with ``value`` and ``is_nan`` columns."""
    # NaN is stored as a placeholder value with is_nan set: it compares unequal to everything and
    # satisfies no ordering, whatever the placeholder.
    compared = compare(lm.c.value, comparator, value)
    if comparator == "!=":
        return or_(compared, lm.c.is_nan == true())
    return and_(compared, lm.c.is_nan == false())


def _dataset_exists(c: Condition) -> ColumnElement[bool]:
    ri, ds = schema.run_inputs, schema.datasets
    field: ColumnElement[Any] = (
        _JsonText(ri.c.tags, _DATASET_CONTEXT_TAG) if c.key == "context" else ds.c[c.key]
    )
    return (
        select(ri.c.run_id)
        .select_from(ri.join(ds, ri.c.dataset_id == ds.c.dataset_id))
        .where(ri.c.run_id == _runs.c.run_id, compare(field, c.comparator, c.value))
        .exists()
    )


# -- portable SQL for what the two databases spell differently --------------------------------
#
# Each construct below renders to SQL with the same meaning on SQLite and PostgreSQL; the default
# rendering (for other dialects and str()) is plain SQL without those guarantees.


class _Like(ColumnElement[bool]):
    """``LIKE`` that is case-sensitive (or folds ASCII only) on every database."""

    __visit_name__ = "dockyard_like"
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("pattern", InternalTraversal.dp_clauseelement),
        ("glob", InternalTraversal.dp_clauseelement),
        ("case_sensitive", InternalTraversal.dp_boolean),
    ]
    type = Boolean()

    def __init__(self, column: ColumnElement[Any], pattern: str, *, case_sensitive: bool) -> None:
        self.column = column
        self.case_sensitive = case_sensitive
        self.pattern: BindParameter[str] = literal(pattern, String())
        self.glob: BindParameter[str] = literal(_like_to_glob(pattern), String())


def _like_to_glob(pattern: str) -> str:
    # GLOB is SQLite's case-sensitive matcher; LIKE's wildcards become GLOB's, and GLOB's own
    # metacharacters are matched literally through one-character sets.
    special = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(special.get(char, char) for char in pattern)


@compiles(_Like)
def _like_default(element: _Like, compiler: SQLCompiler, **kw: Any) -> str:
    column, pattern = (
        compiler.process(element.column, **kw),
        compiler.process(element.pattern, **kw),
    )
    if element.case_sensitive:
        return f"({column} LIKE {pattern})"
    return f"(lower({column}) LIKE lower({pattern}))"


@compiles(_Like, "sqlite")
def _like_sqlite(element: _Like, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    if element.case_sensitive:
        return f"({column} GLOB {compiler.process(element.glob, **kw)})"
    # lower() on both sides, so PRAGMA case_sensitive_like cannot change the meaning.
    return f"(lower({column}) LIKE lower({compiler.process(element.pattern, **kw)}))"


@compiles(_Like, "postgresql")
def _like_postgresql(element: _Like, compiler: SQLCompiler, **kw: Any) -> str:
    column, pattern = (
        compiler.process(element.column, **kw),
        compiler.process(element.pattern, **kw),
    )
    # ESCAPE '' turns off PostgreSQL's default backslash escape, as on SQLite. The C collation
    # makes ILIKE fold ASCII letters only, as SQLite's LIKE does, whatever the database locale.
    if element.case_sensitive:
        return f"({column} LIKE {pattern} ESCAPE '')"
    return f"({column} COLLATE \"C\" ILIKE {pattern} ESCAPE '')"


class _Binary(ColumnElement[Any]):
    """A string column compared by code point: PostgreSQL's default collation follows the locale."""

    __visit_name__ = "dockyard_binary"
    inherit_cache = True
    _traverse_internals = [("element", InternalTraversal.dp_clauseelement)]

    def __init__(self, element: ColumnElement[Any]) -> None:
        self.element = element
        self.type = element.type


def binary(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``column`` ordered and compared by code point, on SQLite and PostgreSQL alike."""
    return _Binary(column)


@compiles(_Binary)
def _binary_default(element: _Binary, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite compares strings with memcmp (BINARY) unless told otherwise.
    return compiler.process(element.element, **kw)


@compiles(_Binary, "postgresql")
def _binary_postgresql(element: _Binary, compiler: SQLCompiler, **kw: Any) -> str:
    return f'{compiler.process(element.element, **kw)} COLLATE "C"'


class _JsonText(ColumnElement[str]):
    """The string under ``key`` in a JSON object stored as text (NULL when absent)."""

    __visit_name__ = "dockyard_json_text"
    inherit_cache = True
    _traverse_internals = [
        ("element", InternalTraversal.dp_clauseelement),
        ("json_key", InternalTraversal.dp_string),
    ]
    type = String()

    def __init__(self, element: ColumnElement[Any], json_key: str) -> None:
        self.element = element
        self.json_key = json_key


@compiles(_JsonText)
def _json_text_default(element: _JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    path = compiler.process(literal(f'$."{element.json_key}"', String()), **kw)
    return f"json_extract({compiler.process(element.element, **kw)}, {path})"


@compiles(_JsonText, "postgresql")
def _json_text_postgresql(element: _JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    key = compiler.process(literal(element.json_key, String()), **kw)
    return f"(CAST({compiler.process(element.element, **kw)} AS JSON) ->> {key})"
