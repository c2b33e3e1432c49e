"""How many runs a search matches, and how they split by one param, tag or attribute.

A runs table over 100,000 runs needs the total to size its scroll bar, and grouping needs the
groups' sizes, without loading the runs: both are one aggregate over the same filtered query
the search compiles (:func:`~dockyard.server.tracking._search_sql.build_search_query`), with its
ORDER BY and LIMIT removed. A group's runs are then an ordinary search with the group's condition
added to the filter, so each group pages like the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, null, select

from dockyard.errors import InvalidArgument
from dockyard.server.store import schema
from dockyard.server.tracking._search_parse import parse_order_by
from dockyard.server.tracking._search_sql import RunViewType, build_search_query

__all__ = ["MAX_GROUPS", "GroupCount", "build_count_query", "build_group_query"]

#: Groups answered, largest first; a param with more distinct values is not a grouping.
MAX_GROUPS = 500

_GROUPABLE_ATTRIBUTES = ("status", "user_id", "run_name")


@dataclass(frozen=True, slots=True)
class GroupCount:
    """One group of a grouped count: its value (None for runs without it), how many runs it
    holds and, when a metric was summarized, the lowest, mean and highest latest value of that
    metric among them (None where no run has a number for it)."""

    value: str | None
    count: int
    min: float | None = None
    mean: float | None = None
    max: float | None = None


def _matching(
    experiment_ids: Sequence[int], filter_string: str, run_view_type: RunViewType
) -> Select[Any]:
    query = build_search_query(experiment_ids, filter_string, [], run_view_type, 1, 0)
    return query.order_by(None).limit(None).offset(None)


def build_count_query(
    experiment_ids: Sequence[int], filter_string: str, run_view_type: RunViewType
) -> Select[Any]:
    """``SELECT count(*)`` of the runs a search matches."""
    ids = _matching(experiment_ids, filter_string, run_view_type).subquery()
    return select(func.count()).select_from(ids)


def build_group_query(
    experiment_ids: Sequence[int],
    filter_string: str,
    run_view_type: RunViewType,
    group_by: str,
    summarize: str | None = None,
) -> Select[Any]:
    """``(value, count, min, mean, max)`` rows (:class:`GroupCount`) of the matching runs grouped
    by ``group_by`` (``params.x``, ``tags.x``, or an attribute: ``status``, ``user_id``,
    ``run_name``), largest group first. Runs without the param or tag form the group whose value
    is NULL. With ``summarize`` (``metrics.<key>``), min, mean and max are that metric's latest
    values in the group, NaN left out; otherwise NULL.

    Raises:
        InvalidArgument: ``group_by`` names a metric (a continuous value) or is malformed
            (``field="group_by"``); ``summarize`` names anything but a metric
            (``field="summarize"``).
    """
    try:
        (key,) = parse_order_by([group_by])
    except InvalidArgument as exc:
        raise InvalidArgument(
            exc.message.replace("order_by", "group_by"), field="group_by"
        ) from exc
    ids = _matching(experiment_ids, filter_string, run_view_type).subquery()
    value: ColumnElement[Any]
    if key.entity in ("param", "tag"):
        table = schema.params if key.entity == "param" else schema.tags
        joined = ids.outerjoin(table, and_(table.c.run_id == ids.c.run_id, table.c.key == key.key))
        value = table.c.value
    elif key.entity == "attribute" and key.key in _GROUPABLE_ATTRIBUTES:
        runs = schema.runs
        joined = ids.join(runs, runs.c.run_id == ids.c.run_id)
        value = runs.c[key.key if key.key != "run_name" else "name"]
    else:
        raise InvalidArgument(
            f"cannot group by {group_by!r}: use a param (params.<key>), a tag (tags.<key>) or "
            f"one of {', '.join(_GROUPABLE_ATTRIBUTES)}",
            field="group_by",
        )
    stats: list[ColumnElement[Any]] = [null(), null(), null()]
    if summarize is not None:
        lm = schema.latest_metrics
        metric = _metric_key(summarize)
        joined = joined.outerjoin(lm, and_(lm.c.run_id == ids.c.run_id, lm.c.key == metric))
        number = case((lm.c.is_nan, None), else_=lm.c.value)
        stats = [func.min(number), func.avg(number), func.max(number)]
    count = func.count()
    return (
        select(
            value.label("value"),
            count.label("count"),
            stats[0].label("min"),
            stats[1].label("mean"),
            stats[2].label("max"),
        )
        .select_from(joined)
        .group_by(value)
        .order_by(count.desc(), value)
        .limit(MAX_GROUPS)
    )


def _metric_key(summarize: str) -> str:
    try:
        (key,) = parse_order_by([summarize])
    except InvalidArgument as exc:
        raise InvalidArgument(
            exc.message.replace("order_by", "summarize"), field="summarize"
        ) from exc
    if key.entity != "metric":
        raise InvalidArgument(
            f"cannot summarize {summarize!r}: name a metric (metrics.<key>)", field="summarize"
        )
    return key.key
