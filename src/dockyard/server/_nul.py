"""NUL characters refused at the door: no name, key or value stored by the server may hold one.

PostgreSQL's text columns cannot hold U+0000 (SQLite's can), so a name such as ``a%00b`` in a
URL, or ``"a\\u0000b"`` in a JSON body, reached the database and failed there with a 500 on a
team's server while a laptop's stored it: the same request must mean the same everywhere.

- :class:`RefuseNulUrl` checks the path and the query before anything else reads them
  (authentication records the path of a refused request), naming the query parameter.
- :func:`nul_in_body` is asked by the body limit (:mod:`dockyard.server._limits`), which holds
  each body whole: a body sent as JSON with the escape ``\\u0000`` (named by its field's path)
  or a form with ``%00``. Uploads stream past it, bytes sent as such (a job's log) are kept as
  they are, and a model's input (an endpoint's invocations) may hold any character.

The error is answered in the shape the caller's client reads
(:func:`dockyard.server._auth.send_error`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from dockyard.errors import InvalidArgument
from dockyard.server._asgi import media_type
from dockyard.server._auth import send_error

__all__ = ["RefuseNulUrl", "nul_in_body"]

_ESCAPE = b"\\u0000"


class RefuseNulUrl:
    """Answer 400 to a request whose path or query holds a NUL character."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            error = _in_url(scope)
            if error is not None:
                await send_error(send, scope, error)
                return
        await self.app(scope, receive, send)


def _in_url(scope: Scope) -> InvalidArgument | None:
    path: str = scope["path"]
    if "\x00" in path:
        shown = path.replace("\x00", "%00")
        return _refused(f"the URL path {shown}", "path")
    name = _encoded_parameter(scope.get("query_string", b""))
    return None if name is None else _refused(f"the query parameter {name!r}", name)


def nul_in_body(scope: Scope, body: bytes) -> InvalidArgument | None:
    """The error for a JSON or form body that holds a NUL character, if it does.

    A body sent as ``application/octet-stream`` is bytes its route keeps as they are (a job's
    log, appended by its runner, may be anything its script printed); any other that parses
    as JSON is read as JSON (MLflow's routes read one sent with no content type at all).
    """
    kind = media_type(scope)
    if kind != "application/octet-stream" and _ESCAPE in body and _escapes_nul(body):
        try:
            field = _field_of(orjson.loads(body))
        except orjson.JSONDecodeError:
            return None  # not JSON after all: the route explains what it expected
        return _refused("the field " + repr(field) if field else "the body", field or "body")
    if kind == "application/x-www-form-urlencoded":
        name = _encoded_parameter(body)
        return None if name is None else _refused(f"the parameter {name!r}", name)
    return None


def _encoded_parameter(encoded: bytes) -> str | None:
    """The name of the first URL-encoded parameter whose name or value holds NUL (shown with
    ``%00``), if any."""
    if b"%00" not in encoded:
        return None
    for key, value in parse_qsl(encoded.decode("latin-1"), keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            return key.replace("\x00", "%00")
    return None


def _escapes_nul(body: bytes) -> bool:
    """Whether some ``\\u0000`` in ``body`` is an escape (its backslash not itself escaped)."""
    at = body.find(_ESCAPE)
    while at >= 0:
        start = at
        while start > 0 and body[start - 1] == 0x5C:  # the backslashes before this one
            start -= 1
        if (at - start) % 2 == 0:
            return True
        at = body.find(_ESCAPE, at + 1)
    return False


def _field_of(value: Any, prefix: str = "") -> str | None:
    """The dotted path of the first key or string value holding NUL ('' for the top level)."""
    if isinstance(value, str):
        return prefix if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{prefix}.{key}" if prefix else str(key)
            if "\x00" in key:
                return here.replace("\x00", "\\u0000")
            found = _field_of(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _field_of(item, f"{prefix}[{index}]")
            if found is not None:
                return found
    return None


def _refused(where: str, field: str) -> InvalidArgument:
    return InvalidArgument(
        f"{where} holds a NUL character (U+0000), which no name, key or value may contain",
        field=field,
    )
