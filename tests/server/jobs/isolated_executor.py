"""An executor for the conformance suite whose runners cannot see the server's home.

It is the local executor with each runner started in a mount namespace of its own in which the
server's home is an empty tmpfs, with a ``HOME`` and ``TMPDIR`` of its own. Like a runner on
another machine it shares nothing with the server but the URL, its token and the artifact store
(which the suite keeps outside the server's home). A stop reaches it only through the API: this
executor cannot signal the runner, as a remote one might not.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dockyard.api.jobs._executor import Handle
from dockyard.runtime.runner._local import LocalExecutor
from dockyard.settings import Settings

__all__ = ["IsolatedExecutor"]

_HIDE = 'mount -t tmpfs -o size=1m tmpfs "$0" && export HOME="$1" TMPDIR="$1" && shift && exec "$@"'


class IsolatedExecutor(LocalExecutor):
    """Runners in their own mount namespace, without the server's home (see the module)."""

    name = "isolated"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self._server_home = settings.home

    def command(self, folder: Path) -> list[str]:
        unshare = shutil.which("unshare") or "unshare"
        # Mounting needs root in the namespace: a user namespace maps us to it when we are not.
        flags = ["--mount"] if os.geteuid() == 0 else ["--mount", "--map-root-user"]
        home = folder / ".home"
        home.mkdir(exist_ok=True)
        return [
            unshare,
            *flags,
            "sh",
            "-c",
            _HIDE,
            str(self._server_home),
            str(home),
            *super().command(folder),
        ]

    def stop(self, handle: Handle) -> None:
        """Nothing: the runner learns of the stop from the API."""
