"""The process-wide tracking context behind ``dy.start_run()`` and friends.

A notebook wants ``dy.log_metric(...)`` without passing a client around, so the fluent API keeps
one context per process: the client, the metric sender, the current experiment and the stack of
active runs. It is created on first use from the environment (never at import) and can be
replaced with :func:`set_tracking_uri`.
"""

from __future__ import annotations

import atexit
import threading
from typing import TYPE_CHECKING

from dockyard.client.http import Client, ClientSettings, SocketTransport, resolve_token
from dockyard.client.sdk._connect import connect, full_settings
from dockyard.client.sdk._sender import MetricSender

if TYPE_CHECKING:
    from dockyard.settings import Settings

__all__ = ["TrackingContext", "context", "reset_context"]


class TrackingContext:
    """Client, sender and run stack of this process's fluent API."""

    def __init__(self, settings: Settings | ClientSettings) -> None:
        self.settings = settings
        self.client: Client = connect(settings)
        self.sender = MetricSender(self.client)
        self.experiment_id: str | None = None
        self.run_stack: list[str] = []
        self._server: Client | None = None

    def server(self) -> Client:
        """A client of a real server process: ``DOCKYARD_URI``, or a local one started now.

        Jobs need a process that owns the queue and outlives this one; tracking does not.
        """
        if self.settings.uri:
            return self.client
        if self._server is None:
            from dockyard.client.sdk._local_server import ensure_server, local_key

            settings = full_settings(self.settings)
            url = ensure_server(settings)
            token = resolve_token(url, self.settings.token) or local_key(settings.home)
            self._server = Client(url, token=token, transport=SocketTransport())
        return self._server

    def close(self) -> None:
        self.sender.close()
        self.client.close()
        if self._server is not None:
            self._server.close()


_lock = threading.Lock()
_context: TrackingContext | None = None


def context() -> TrackingContext:
    """The current context, created from ``DOCKYARD_*`` variables on first use."""
    global _context
    with _lock:
        if _context is None:
            _context = TrackingContext(_from_env())
        return _context


def reset_context(settings: Settings | None = None) -> TrackingContext:
    """Replace the context (ending nothing: call ``end_run`` first if a run is active)."""
    global _context
    with _lock:
        if _context is not None:
            _context.close()
        _context = TrackingContext(settings or _from_env())
        return _context


def _from_env() -> Settings | ClientSettings:
    """The few settings read directly when ``DOCKYARD_URI`` names a server; all of them for
    the embedded default."""
    found = ClientSettings.from_env()
    if found is not None:
        return found
    from dockyard.settings import Settings

    return Settings()


@atexit.register
def _flush_at_exit() -> None:
    # A script that never calls end_run still gets every metric delivered and its runs ended.
    ctx = _context
    if ctx is None:
        return
    from dockyard.client.sdk._fluent import end_run

    try:
        while ctx.run_stack:
            end_run()
        ctx.sender.flush(timeout=ctx.client.retry_for + 10)
    except Exception as exc:
        import sys

        print(f"dockyard: could not deliver tracking data at exit: {exc}", file=sys.stderr)
