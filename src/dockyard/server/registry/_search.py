"""MLflow's registered-model and model-version searches, compiled over the registry tables.

Filters are parsed by the tracking search scanner with the ``REGISTERED_MODELS`` and
``MODEL_VERSIONS`` grammars. Semantics, as MLflow's registry:

* ``LIKE`` is case-sensitive, ``ILIKE`` is not; strings compare and sort by code point.
* A tag condition with ``!=`` holds for a model (version) that has no such tag: MLflow's
  clients add ``tags.`mlflow.prompt.is_prompt` != 'true'`` to every search to leave prompts out,
  which must keep everything else. Every other tag comparison needs the tag.
* Models are ordered by the ``order_by`` keys, then by name. Versions are ordered by the keys
  (newest update first when none is given), then by model name and by version number, highest
  first: a key such as ``version_number DESC`` breaks its ties by name, not by update time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, exists, select

from dockyard.errors import InvalidArgument
from dockyard.limits import LIMITS
from dockyard.server.store import schema
from dockyard.server.tracking import (
    MODEL_VERSIONS,
    REGISTERED_MODELS,
    Condition,
    Page,
    binary,
    compare,
    decode_page_token,
    encode_page_token,
    parse_filter,
    parse_order_by,
)

__all__ = ["model_query", "search_offset", "search_page", "version_query"]

T = TypeVar("T")

_M = schema.registered_models
_MT = schema.registered_model_tags
_V = schema.model_versions
_VT = schema.model_version_tags

# MLflow's order of a version search that names none (its tie-breakers follow any order).
_DEFAULT_VERSION_ORDER = ("last_updated_timestamp DESC",)

_MODEL_COLUMNS: dict[str, Any] = {
    "name": binary(_M.c.name),
    "creation_timestamp": _M.c.creation_time,
    "last_updated_timestamp": _M.c.last_updated_time,
}
_VERSION_COLUMNS: dict[str, Any] = {
    "name": binary(_M.c.name),
    "run_id": _V.c.run_id,
    "source_path": _V.c.source,
    "version_number": _V.c.version,
    "creation_timestamp": _V.c.creation_time,
    "last_updated_timestamp": _V.c.last_updated_time,
}


def _tag(c: Condition, table: Table, *match: ColumnElement[bool]) -> ColumnElement[bool]:
    if c.comparator == "!=":
        # No tag of that key with that value (a missing tag passes): see the module docstring.
        return ~exists().where(*match, table.c.key == c.key, table.c.value == c.value)
    return exists().where(
        *match, table.c.key == c.key, compare(table.c.value, c.comparator, c.value)
    )


def _order_terms(
    order_by: Sequence[str], grammar_columns: dict[str, Any], resource: str
) -> tuple[list[Any], set[str]]:
    grammar = REGISTERED_MODELS if resource == "registered models" else MODEL_VERSIONS
    terms: list[Any] = []
    keys: set[str] = set()
    for key in parse_order_by(order_by, grammar):
        if key.entity != "attribute":
            raise InvalidArgument(
                f"{resource} are ordered by {', '.join(grammar_columns)} only", field="order_by"
            )
        column = grammar_columns[key.key]
        terms.append(column.asc() if key.ascending else column.desc())
        keys.add(key.key)
    return terms, keys


def model_query(filter: str, order_by: Sequence[str]) -> Select[Any]:
    """Ids of the registered models matching ``filter``, in ``order_by`` order, then by name."""
    query = select(_M.c.model_id)
    for c in parse_filter(filter, REGISTERED_MODELS):
        if c.entity == "tag":
            query = query.where(_tag(c, _MT, _MT.c.model_id == _M.c.model_id))
        else:
            query = query.where(compare(_MODEL_COLUMNS[c.key], c.comparator, c.value))
    terms, keys = _order_terms(order_by, _MODEL_COLUMNS, "registered models")
    if "name" not in keys:
        terms.append(_MODEL_COLUMNS["name"].asc())
    return query.order_by(*terms)


def version_query(filter: str, order_by: Sequence[str]) -> Select[Any]:
    """Version rows (with their model's ``name``) matching ``filter``, in MLflow's order."""
    query = select(_V, _M.c.name).join(_M, _M.c.model_id == _V.c.model_id)
    for c in parse_filter(filter, MODEL_VERSIONS):
        if c.entity == "tag":
            match = (_VT.c.model_id == _V.c.model_id, _VT.c.version == _V.c.version)
            query = query.where(_tag(c, _VT, *match))
        else:
            query = query.where(compare(_VERSION_COLUMNS[c.key], c.comparator, c.value))
    terms, keys = _order_terms(
        order_by or _DEFAULT_VERSION_ORDER, _VERSION_COLUMNS, "model versions"
    )
    if "name" not in keys:
        terms.append(_VERSION_COLUMNS["name"].asc())
    if "version_number" not in keys:
        terms.append(_V.c.version.desc())
    return query.order_by(*terms)


def search_offset(max_results: int, page_token: str | None) -> int:
    """Where a search's page starts: ``page_token``'s offset, ``max_results`` checked."""
    if not 1 <= max_results <= LIMITS.page_max_results:
        raise InvalidArgument(
            f"max_results must be between 1 and {LIMITS.page_max_results}", field="max_results"
        )
    return decode_page_token(page_token)


def search_page(items: list[T], limit: int, offset: int) -> Page[T]:
    """A search's page of ``items`` (read one past ``limit``, to know whether more follow)."""
    more = len(items) > limit
    return Page(items[:limit], encode_page_token(offset + limit) if more else None)
