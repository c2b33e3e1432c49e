"""Search with MLflow's filter and order_by syntax: runs compiled to one SQL query; the grammars
and the comparison helper other resources (experiments, logged models, registry) build theirs on.

Parsing lives in :mod:`~dockyard.server.tracking._search_parse` (grammar and errors), compilation in
:mod:`~dockyard.server.tracking._search_sql` (query shape, NULL/NaN ordering, LIKE semantics).
"""

from __future__ import annotations

from dockyard.server.tracking._search_parse import (
    EXPERIMENTS,
    LOGGED_MODELS,
    MAX_CONDITIONS,
    MAX_ORDER_KEYS,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
    RUNS,
    Condition,
    Grammar,
    OrderKey,
    parse_filter,
    parse_order_by,
)
from dockyard.server.tracking._search_sql import (
    RunViewType,
    binary,
    build_search_query,
    compare,
    metric_compare,
)

__all__ = [
    "EXPERIMENTS",
    "LOGGED_MODELS",
    "MAX_CONDITIONS",
    "MAX_ORDER_KEYS",
    "MODEL_VERSIONS",
    "REGISTERED_MODELS",
    "RUNS",
    "Condition",
    "Grammar",
    "OrderKey",
    "RunViewType",
    "binary",
    "build_search_query",
    "compare",
    "metric_compare",
    "parse_filter",
    "parse_order_by",
]
