"""The event log: every state change, appended in the transaction that makes it.

Services append (:meth:`EventLog.append`) inside their write transactions, so a change and its
event commit together or not at all. Readers page by id (``GET /api/v1/events``, ``dockyard
audit``); consumers that act on events (webhook delivery, triggers, pipelines waiting on a job,
live views) keep a durable cursor (:meth:`EventLog.position` / :meth:`EventLog.advance`), so a
crash between "changed" and "acted on" loses nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.events._entities import Event
    from dockyard.server.events._log import MAX_BODY, EventLog, Visible, type_in
    from dockyard.server.events._peers import Peers

__all__ = ["MAX_BODY", "Event", "EventLog", "Peers", "Visible", "type_in"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "MAX_BODY": "._log",
        "Event": "._entities",
        "EventLog": "._log",
        "Peers": "._peers",
        "Visible": "._log",
        "type_in": "._log",
    },
)
