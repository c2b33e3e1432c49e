"""What the server and a serving worker agree on: the worker's configuration, its API keys,
its admin client, SageMaker Runtime's error shapes, and what a port refuses of web pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.api.serving._browsers import BrowserGuard
    from dockyard.api.serving._keys import ApiKeys, new_api_key

__all__ = ["ApiKeys", "BrowserGuard", "new_api_key"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "ApiKeys": "._keys",
        "BrowserGuard": "._browsers",
        "new_api_key": "._keys",
    },
)
