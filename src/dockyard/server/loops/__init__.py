"""Background loops: the work a server process does besides answering requests.

Each loop is a small subclass of :class:`BackgroundLoop`, which owns the skeleton every one of
them needs::

    start()  -> a daemon thread that waits for the loop's leadership lock
                (:class:`~dockyard.server.store._leader.LeaderLock`: one leader per metadata
                database, however many server processes run)
    on taking the lead -> reconcile()   reattach, resume, or fail with a reason
    then, until stop() -> tick()        one pass; sleeps interval_s or until wake()
    on stop()          -> finish()      save what the loop holds in memory, then let go

The job scheduler (:mod:`dockyard.server.jobs._scheduler`) and the endpoint supervisor
(:mod:`dockyard.server.endpoints._supervisor`) are loops. :class:`EventConsumer` adds a durable
cursor over the event log, for loops that act on events (notification deliverers, triggers,
pipelines waiting on jobs): each reads what was appended since its cursor, and a crash between
"changed" and "acted on" loses nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.loops._consumer import EventConsumer
    from dockyard.server.loops._loop import BackgroundLoop

__all__ = ["BackgroundLoop", "EventConsumer"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "BackgroundLoop": "._loop",
        "EventConsumer": "._consumer",
    },
)
