"""A doorbell between the processes of one server: a transition committed in a process whose
engine loop does not lead wakes the leader's loop at once, instead of at its next pass
(``pipeline_engine_interval_s``, a second by default: a request served by another worker of
``dockyard server --workers N`` started its first task up to a second late).

The leader listens on a Unix datagram socket in Linux's abstract namespace (no file to clean up
after a crash), named from the server's home and database; any process rings it with one
datagram, never waiting: a full queue already holds a ring, and with no leader listening (or
on a system without abstract sockets) the ring is dropped and the leader's next pass finds the
work, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["Doorbell"]

log = logging.getLogger("dockyard.server.pipelines")


class Doorbell:
    """Rings the engine loop of the process that leads (see the module docstring).

    Args:
        home: The server's home.
        database: The database URL (the processes of one server share both).
    """

    def __init__(self, home: Path, database: str) -> None:
        identity = f"{home.resolve()}|{database}".encode()
        self.address = b"\0dockyard-pipelines-" + hashlib.sha256(identity).hexdigest()[:32].encode()
        self._enabled = sys.platform.startswith("linux")
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def listening(self) -> bool:
        return self._thread is not None

    def ring(self) -> None:
        """Wake the leading process's loop; nothing when this process leads (its loop was
        woken directly) or none listens."""
        if self._enabled and self._thread is None:
            self._send()

    def _send(self) -> None:
        # A socket per ring (~20 µs): nothing held open for the process's lifetime.
        with (
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender,
            contextlib.suppress(OSError),  # no listener, or its queue is full: both fine
        ):
            sender.setblocking(False)
            sender.sendto(b"!", self.address)

    def listen(self, on_ring: Callable[[], None]) -> bool:
        """Call ``on_ring`` for every ring, on a daemon thread, until :meth:`close`; False when
        the address is taken (a previous leader still ending) or abstract sockets are missing."""
        if not self._enabled or self._thread is not None:
            return False
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            listener.bind(self.address)
        except OSError as exc:
            listener.close()
            log.warning("pipeline doorbell: not listening (%s): other workers' work waits", exc)
            return False
        self._stopping.clear()

        def serve() -> None:
            with listener:
                while True:
                    listener.recv(64)
                    if self._stopping.is_set():
                        return
                    on_ring()

        self._thread = threading.Thread(
            target=serve, name="dockyard-pipeline-doorbell", daemon=True
        )
        self._thread.start()
        return True

    def close(self) -> None:
        """Stop listening (the address is free once this returns)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            self._send()  # wakes the listening thread, which closes its socket
            thread.join(5.0)
