"""The web UI: static files served at ``/`` (the page) and ``/ui/`` (its modules and styles).

The UI is plain ES modules with no build step (``static/``; read ``static/app.js`` first: it
holds the route table). It reads the same ``/api/v1`` as every client, so this package serves
files and nothing else: no data, no rule. The files hold no secret, so they are served without
sign-in (the page shows its own sign-in form); everything the page shows comes from the API,
behind the authentication layer.

Every file is read once, at app start, and answered from memory with a strong ETag:
``Cache-Control: no-cache`` lets the browser keep a copy and revalidate it with a 304, so a new
Dockyard version is picked up on the next load without versioned file names. The page's
Content-Security-Policy allows this origin only: no script, style, image or connection may
reach another host, and artifact previews (HTML in a sandboxed frame) inherit that.
"""

from __future__ import annotations

import hashlib
import mimetypes
from importlib import resources
from pathlib import PurePosixPath
from typing import Final

from fastapi import APIRouter, Request, Response

from dockyard.errors import NotFound

__all__ = ["CSP", "ui_router"]

CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}


class _File:
    __slots__ = ("body", "etag", "media_type")

    def __init__(self, body: bytes, media_type: str) -> None:
        self.body = body
        self.media_type = media_type
        self.etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _load() -> dict[str, _File]:
    files: dict[str, _File] = {}
    root = resources.files(__package__).joinpath("static")
    stack = [(root, PurePosixPath())]
    while stack:
        folder, rel = stack.pop()
        for entry in folder.iterdir():
            path = rel / entry.name
            if entry.is_dir():
                stack.append((entry, path))
                continue
            suffix = PurePosixPath(entry.name).suffix
            media = _TYPES.get(suffix) or mimetypes.guess_type(entry.name)[0]
            files[path.as_posix()] = _File(entry.read_bytes(), media or "application/octet-stream")
    return files


class _Static:
    """The UI's files, read once."""

    def __init__(self) -> None:
        self.files = _load()

    def answer(self, request: Request, path: str) -> Response:
        found = self.files.get(path)
        if found is None:
            raise NotFound(f"no UI file {path!r}", field="path")
        headers = {
            "ETag": found.etag,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        }
        if path == "index.html":
            headers["Content-Security-Policy"] = CSP
            headers["X-Frame-Options"] = "DENY"
            headers["Referrer-Policy"] = "same-origin"
        if request.headers.get("if-none-match") == found.etag:
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)


def ui_router() -> APIRouter:
    """The UI's routes, over its files read now (once per app)."""
    static = _Static()
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def index(request: Request) -> Response:
        """The single page; its routes live after ``#`` (``/#/experiments/1/runs/<id>``, the
        links MLflow's client prints)."""
        return static.answer(request, "index.html")

    @router.get("/ui/{path:path}")
    def asset(path: str, request: Request) -> Response:
        """A module, style sheet or vendored library of the page."""
        return static.answer(request, path)

    return router
