"""The few settings a client needs to reach a server, read without pydantic-settings.

A script against a server needs ``DOCKYARD_URI``, ``DOCKYARD_TOKEN``, ``DOCKYARD_RUN_ID`` and
``DOCKYARD_HOME`` (where a fetched model is cached). :class:`~dockyard.settings.Settings` reads
every setting the server has, and importing pydantic-settings for it was about a sixth of a
script's start to its first answer. These are read here the way ``Settings`` reads them (names
in any case, an empty value the same as none, ``~`` expanded in the home); everything else, and
the embedded default, which serves the whole app in the process, still goes through
``Settings``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ClientSettings", "env_setting"]


def env_setting(name: str) -> str | None:
    """The variable ``name`` as ``Settings`` reads it: the name in any case, and an empty
    value the same as none."""
    value = os.environ.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in os.environ.items() if k.lower() == wanted), None)
    return value or None


@dataclass(frozen=True)
class ClientSettings:
    """What the SDK reads of ``DOCKYARD_*`` when ``DOCKYARD_URI`` names a server."""

    uri: str
    token: str | None = None
    run_id: str | None = None
    home: Path = field(default_factory=lambda: Path.home() / ".dockyard")

    @classmethod
    def from_env(cls) -> ClientSettings | None:
        """These settings from the environment; None without ``DOCKYARD_URI`` (the embedded
        default, which needs all of :class:`~dockyard.settings.Settings`)."""
        uri = env_setting("DOCKYARD_URI")
        if uri is None:
            return None
        home = env_setting("DOCKYARD_HOME")
        return cls(
            uri=uri,
            token=env_setting("DOCKYARD_TOKEN"),
            run_id=env_setting("DOCKYARD_RUN_ID"),
            home=Path(home).expanduser() if home else Path.home() / ".dockyard",
        )

    @property
    def s3_endpoint_url(self) -> str | None:
        """``DOCKYARD_S3_ENDPOINT_URL``, checked where every setting is: read only when a model
        is fetched from S3."""
        from dockyard.settings import Settings

        return Settings().s3_endpoint_url
