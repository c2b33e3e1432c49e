"""Tokens saved by ``dockyard login``, one per server URL, in a file only its owner reads.

``$XDG_CONFIG_HOME/dockyard/credentials.json`` (default ``~/.config/dockyard/``), mode 0600.
``DOCKYARD_TOKEN`` wins over a saved token.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["credentials_path", "forget_token", "save_token", "saved_token"]


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dockyard" / "credentials.json"


def _key(url: str) -> str:
    return url.rstrip("/")


def _load() -> dict[str, str]:
    path = credentials_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _store(data: dict[str, str]) -> None:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_suffix(".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=2, sort_keys=True)
    partial.replace(path)


def saved_token(url: str) -> str | None:
    """The token ``dockyard login`` saved for ``url``, if any."""
    return _load().get(_key(url))


def save_token(url: str, token: str) -> Path:
    data = _load()
    data[_key(url)] = token
    _store(data)
    return credentials_path()


def forget_token(url: str) -> str | None:
    """Remove and return the token saved for ``url``."""
    data = _load()
    token = data.pop(_key(url), None)
    if token is not None:
        _store(data)
    return token
