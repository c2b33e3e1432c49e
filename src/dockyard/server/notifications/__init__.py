"""Notifications: topics, subscriptions and deliveries, fed by the event log (like SNS).

The path of one event::

    a service appends an event (run.status_changed, job.status_changed, topic.alerts ...)
    1. FanOut (an EventConsumer, leader only) matches it against every subscription's event
       patterns and filter policy (_filters: SNS semantics) and inserts one ``deliveries`` row
       per match, moving its cursor in the same transaction: queued exactly once.
    2. Deliverer (a BackgroundLoop, leader only) claims due rows in batches and sends them
       from an event loop over keep-alive pools per host (_http): webhooks (json, slack, teams
       bodies, HMAC-signed: _formats) or email over SMTP; records attempts in batches.
    Webhook and email subscriptions start pending: they are sent a confirmation message and
    nothing else until its link is followed (_confirmations, as SNS does).
    3. A failure is retried with exponential backoff and full jitter until the subscription's
       horizon (24 h by default), then dead-lettered; ``replay`` queues dead rows again.
    4. Delivered rows are pruned after ``notify_retention_s`` (_retention).

Built-in topics are the resource kinds (``job`` carries ``job.*``); custom topics carry what
``dy.publish`` appends as ``topic.<name>``. Who may do what: :class:`~dockyard.server.auth.Access`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.server.notifications._confirmations import CONFIRM_PATH
    from dockyard.server.notifications._deliverer import Deliverer
    from dockyard.server.notifications._fanout import FanOut
    from dockyard.server.notifications._filters import (
        event_fields,
        matches,
        type_matches,
        validate_policy,
    )
    from dockyard.server.notifications._formats import sign
    from dockyard.server.notifications._service import NotificationService

__all__ = [
    "CONFIRM_PATH",
    "Deliverer",
    "FanOut",
    "NotificationService",
    "event_fields",
    "matches",
    "sign",
    "type_matches",
    "validate_policy",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "CONFIRM_PATH": "._confirmations",
        "event_fields": "._filters",
        "matches": "._filters",
        "type_matches": "._filters",
        "validate_policy": "._filters",
        "Deliverer": "._deliverer",
        "FanOut": "._fanout",
        "NotificationService": "._service",
        "sign": "._formats",
    },
)
