"""Which token a client sends: the one given, ``DOCKYARD_TOKEN``, or the one saved by login.

A job's runtime processes get their token from the runner (``job["token"]``) and pass it as
``token``; a person's SDK or CLI falls back to what ``dockyard login`` saved for the URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.client.http._credentials import saved_token

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["resolve_token"]


def resolve_token(url: str, configured: SecretStr | str | None) -> str | None:
    """``configured`` (``DOCKYARD_TOKEN``, a job's token) if set, else the one saved for ``url``."""
    if configured:
        return configured if isinstance(configured, str) else configured.get_secret_value()
    return saved_token(url)
