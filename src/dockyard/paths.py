"""Paths that users type: ``~`` expansion that fails as bad input, not as a crash."""

from __future__ import annotations

from pathlib import Path

from dockyard.errors import InvalidArgument

__all__ = ["expand_user"]


def expand_user(text: str, field: str | None = None) -> Path:
    """``Path(text).expanduser()``, refusing a ``~name`` this machine cannot expand.

    ``Path.expanduser`` raises ``RuntimeError`` for ``~nouser/x`` (or for ``~`` without a home);
    here that is an :class:`~dockyard.errors.InvalidArgument` naming ``field``.
    """
    try:
        return Path(text).expanduser()
    except RuntimeError as exc:
        user = text.split("/", 1)[0]
        raise InvalidArgument(
            f"cannot expand {user[:100]!r} in {text[:200]!r}: {exc}", field=field
        ) from exc
