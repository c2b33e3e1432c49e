"""Appends in one server process wake the loops of the others on this machine.

Every process of a server (``--workers N``, or several servers over one database) runs the
background loops, and each loop leads in one of them; an append wakes only the loops of the
process that made it (:meth:`EventLog.notify`), so a loop leading elsewhere saw it at its next
poll: a trial's job ending in one worker started the next trial up to the tuning loop's 0.5 s
later. :class:`Peers` closes that gap on Linux: each process binds a datagram socket in the
abstract namespace (no file to clean up: it goes with the process), named after the database,
and after each committed append sends the event's type to the other processes' sockets, found
in ``/proc/net/unix``. A receiving thread hands the type to the local readers, as an append of
its own would. Best effort by design: a full socket buffer or a vanished peer drops the wake,
and the loops' polls stay as the floor (and the only path across machines).

A type is sent at once when it was not sent in the last :data:`_COALESCE_S`; appends of it
within that window are told once, at its end, by a sending thread. A client logging a metric
per call appends hundreds of ``run.logged`` a second: a datagram for each cost the request a
system call per peer and each peer a wake-up, for readers that read every new event on one.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["Peers"]

log = logging.getLogger("dockyard.server.events")

_PREFIX = "dockyard-wake-"
_REFRESH_S = 2.0  # how often, at most, the list of peers is read again
_MAX_TYPE = 200
_COALESCE_S = 0.02  # appends of one type this close together are told once
_KEEP = 512  # types remembered before the ones told long ago are forgotten


class Peers:
    """This process's wake socket and its view of the other processes' sockets.

    Args:
        database: What the processes share (the database URL): it names the sockets.
        on_wake: Called, on the receiving thread, with each event type another process sent.
    """

    def __init__(self, database: str, on_wake: Callable[[str], None]) -> None:
        digest = hashlib.sha256(database.encode()).hexdigest()[:16]
        self._group = f"{_PREFIX}{digest}-"
        self._name = f"{self._group}{os.getpid()}-{os.urandom(3).hex()}"
        self._on_wake = on_wake
        self._peers: list[str] = []
        self._read_at = -_REFRESH_S
        self._lock = threading.Lock()
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind("\0" + self._name)
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)  # a peer that reads slowly loses wakes, not our time
        self._closed = False
        self._sent_at: dict[str, float] = {}  # when each type was last told
        self._held: set[str] = set()  # types appended since, to tell at the window's end
        self._holding = threading.Condition()
        self._thread = threading.Thread(target=self._receive, name="dockyard-peers", daemon=True)
        self._thread.start()
        self._flusher = threading.Thread(
            target=self._flush, name="dockyard-peers-send", daemon=True
        )
        self._flusher.start()

    @property
    def name(self) -> str:
        return self._name

    def send(self, type: str) -> None:
        """Tell the other processes an append of ``type`` committed (at once, or at the end
        of the window in which ``type`` was told already)."""
        now = time.monotonic()
        with self._holding:
            if now - self._sent_at.get(type, -_COALESCE_S) < _COALESCE_S:
                if not self._held:
                    self._holding.notify()
                self._held.add(type)
                return
            self._sent_at[type] = now
            if len(self._sent_at) > _KEEP:  # types are open-ended (``topic.<name>``)
                self._sent_at = {
                    t: at
                    for t, at in self._sent_at.items()
                    if now - at < _COALESCE_S or t in self._held
                }
        self._tell(type)

    def _flush(self) -> None:
        while True:
            with self._holding:
                while not self._held and not self._closed:
                    self._holding.wait()
                if self._closed:
                    return
                due = min(self._sent_at[t] for t in self._held) + _COALESCE_S
                wait = due - time.monotonic()
                if wait > 0:
                    self._holding.wait(wait)  # the window's end (or a stop)
                    continue
                now = time.monotonic()
                ready = [t for t in self._held if now - self._sent_at[t] >= _COALESCE_S]
                for type in ready:
                    self._held.discard(type)
                    self._sent_at[type] = now
            for type in ready:
                self._tell(type)

    def _tell(self, type: str) -> None:
        message = type[:_MAX_TYPE].encode()
        for peer in self._current():
            try:
                self._sender.sendto(message, "\0" + peer)
            except (BlockingIOError, ConnectionRefusedError, FileNotFoundError):
                continue  # full (it is awake anyway) or gone (dropped at the next refresh)
            except OSError as exc:
                log.debug("waking %s failed: %s", peer, exc)

    def _current(self) -> list[str]:
        now = time.monotonic()
        if now - self._read_at >= _REFRESH_S:
            with self._lock:
                if now - self._read_at >= _REFRESH_S:
                    self._peers = [p for p in _abstract_names(self._group) if p != self._name]
                    self._read_at = now
        return self._peers

    def _receive(self) -> None:
        while not self._closed:
            try:
                data = self._socket.recv(_MAX_TYPE + 1)
            except OSError:
                return  # closed
            if not data:  # the wake-up close() sends itself
                continue
            try:
                self._on_wake(data.decode(errors="replace"))
            except Exception:
                log.exception("a wake from another process failed")

    def stop(self) -> None:
        """Stop receiving (the server's background work stops this way)."""
        with self._holding:
            self._closed = True
            self._holding.notify_all()
        with contextlib.suppress(OSError):
            self._sender.sendto(b"", "\0" + self._name)  # ends the blocking recv
        self._thread.join(5)
        self._flusher.join(5)
        self._socket.close()
        self._sender.close()


def _abstract_names(prefix: str) -> list[str]:
    """Abstract-namespace Unix socket names starting with ``prefix`` (Linux)."""
    try:
        text = Path("/proc/net/unix").read_text()
    except OSError:
        return []
    marker = "@" + prefix
    names = []
    for line in text.splitlines():
        at = line.find(marker)
        if at >= 0:
            names.append(line[at + 1 :].strip())
    return names
