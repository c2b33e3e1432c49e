"""Run search with MLflow's filter and order_by syntax, compiled to one SQL query.

Parsing lives in :mod:`~dockyard.tracking._search_parse` (grammar and errors), compilation in
:mod:`~dockyard.tracking._search_sql` (query shape, NULL/NaN ordering, LIKE semantics).
"""

from __future__ import annotations

from dockyard.tracking._search_parse import (
    MAX_CONDITIONS,
    MAX_ORDER_KEYS,
    Condition,
    OrderKey,
    parse_filter,
    parse_order_by,
)
from dockyard.tracking._search_sql import RunViewType, build_search_query

__all__ = [
    "MAX_CONDITIONS",
    "MAX_ORDER_KEYS",
    "Condition",
    "OrderKey",
    "RunViewType",
    "build_search_query",
    "parse_filter",
    "parse_order_by",
]
