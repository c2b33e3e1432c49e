"""The ``Content-Type`` MLflow's artifact downloads carry, guessed from the file's name.

MLflow's UI and clients preview an artifact by its type: text formats (logs, configs, code,
``MLmodel``, ``MLproject``) are ``text/plain`` whatever the platform's MIME table says, other
names take the standard guess, and anything unknown is ``application/octet-stream``. The type
depends on the name only, never on what the request asks for (``Accept``), so an upload cannot
choose how a browser treats it.
"""

from __future__ import annotations

import mimetypes
import posixpath
from typing import Final

__all__ = ["media_type_for"]

_TEXT: Final = frozenset(
    {
        "txt", "log", "err", "cfg", "conf", "cnf", "cf", "ini", "properties", "prop", "hocon",
        "toml", "yaml", "yml", "xml", "json", "js", "py", "py3", "csv", "tsv", "md", "rst",
        "ipynb", "MLmodel", "MLproject",
    }
)  # fmt: skip
_BINARY: Final = "application/octet-stream"


def media_type_for(path: str) -> str:
    """The media type MLflow's server gives the file at ``path`` (a ``/``-separated key)."""
    name = posixpath.basename(path)
    extension = posixpath.splitext(name)[1].lstrip(".") or name  # ``MLmodel`` has none
    if extension in _TEXT or extension.lower() in {"mlmodel", "mlproject"}:
        return "text/plain"
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or _BINARY
