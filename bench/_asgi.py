"""An HTTP request as an ASGI scope, for benches that call the whole app in process."""

from __future__ import annotations

from typing import Any

__all__ = ["http_scope"]


def http_scope(
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    *,
    query: bytes = b"",
    client: tuple[str, int] = ("127.0.0.1", 50000),
    server: tuple[str, int] = ("127.0.0.1", 5000),
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": client,
        "server": server,
    }
