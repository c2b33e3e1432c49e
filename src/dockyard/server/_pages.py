"""The native API's paging for lists a service answers whole (topics, subscriptions,
triggers): ``max_results`` and the opaque ``page_token`` of the previous answer's
``next_page_token``, as the paged lists read from the database (runs, jobs, tuning jobs)."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Query

from dockyard.limits import LIMITS
from dockyard.server.tracking import decode_page_token, encode_page_token

__all__ = ["MaxResults", "PageToken", "one_page"]

T = TypeVar("T")

MaxResults = Annotated[int, Query(ge=1, le=LIMITS.page_max_results)]
PageToken = Annotated[str | None, Query(max_length=LIMITS.page_token_length)]


def one_page(
    items: list[T], max_results: int, page_token: str | None
) -> tuple[list[T], str | None]:
    """The page ``page_token`` stands for (the first without one) and the next page's token
    (None on the last); a token this server did not issue is refused naming ``page_token``."""
    offset = decode_page_token(page_token)
    end = offset + max_results
    return items[offset:end], encode_page_token(end) if end < len(items) else None
