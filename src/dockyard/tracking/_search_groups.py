"""How many runs a search matches, and how they split by one param, tag or attribute.

A runs table over 100,000 runs needs the total to size its scroll bar, and grouping needs the
groups' sizes, without loading the runs: both are one aggregate over the same filtered query
the search compiles (:func:`~dockyard.tracking._search_sql.build_search_query`), with its ORDER
BY and LIMIT removed. A group's runs are then an ordinary search with the group's condition
added to the filter, so each group pages like the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select

from dockyard.errors import InvalidArgument
from dockyard.store import schema
from dockyard.tracking._search_parse import parse_order_by
from dockyard.tracking._search_sql import RunViewType, build_search_query

__all__ = ["MAX_GROUPS", "build_count_query", "build_group_query"]

#: Groups answered, largest first; a param with more distinct values is not a grouping.
MAX_GROUPS = 500

_GROUPABLE_ATTRIBUTES = ("status", "user_id", "run_name")


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
) -> Select[Any]:
    """``(value, count)`` rows of the matching runs grouped by ``group_by`` (``params.x``,
    ``tags.x``, or an attribute: ``status``, ``user_id``, ``run_name``), largest group first.
    Runs without the param or tag form the group whose value is NULL.

    Raises:
        InvalidArgument: ``group_by`` names a metric (a continuous value) or is malformed
            (``field="group_by"``).
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
    count = func.count()
    return (
        select(value.label("value"), count.label("count"))
        .select_from(joined)
        .group_by(value)
        .order_by(count.desc(), value)
        .limit(MAX_GROUPS)
    )
