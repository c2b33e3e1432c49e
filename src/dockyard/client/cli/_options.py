"""Options the commands read the same way: lists of patterns given as a comma list, repeated
options, or both (``--events 'job.*,run.*' --events model.*``), and JSON given on the command
line (``--filter '{"status": ["Failed"]}'``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from dockyard.errors import InvalidArgument

__all__ = ["comma_list", "json_arg"]


def json_arg(text: str | None, shown: str) -> Any:
    """``text`` parsed as JSON (None when not given); ``shown`` is how the command line names
    it (``--filter``, ``MESSAGE``)."""
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"{shown} is not JSON: {exc}", field=shown) from exc


def comma_list(values: Iterable[str]) -> list[str]:
    """Every item of repeated options, each split at commas; blanks dropped, order kept,
    duplicates once."""
    found: list[str] = []
    for value in values:
        for part in value.split(","):
            item = part.strip()
            if item and item not in found:
                found.append(item)
    return found
