"""Options the commands read the same way: lists of patterns given as a comma list, repeated
options, or both (``--events 'job.*,run.*' --events model.*``)."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["comma_list"]


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
