"""Notifications: topics, subscriptions and deliveries, fed by the event log (like SNS).

The path of one event::

    a service appends an event (run.status_changed, job.status_changed, topic.alerts ...)
    1. FanOut (an EventConsumer, leader only) matches it against every subscription's event
       patterns and filter policy (_filters: SNS semantics) and inserts one ``deliveries`` row
       per match, moving its cursor in the same transaction: queued exactly once.
    2. Deliverer (a BackgroundLoop, leader only) claims due rows in batches and sends them
       from an event loop over keep-alive pools per host (_http): webhooks (json, slack, teams
       bodies, HMAC-signed: _formats) or email over SMTP; records attempts in batches.
    3. A failure is retried with exponential backoff and full jitter until the subscription's
       horizon (24 h by default), then dead-lettered; ``replay`` queues dead rows again.
    4. Delivered rows are pruned after ``notify_retention_s`` (_retention).

Built-in topics are the resource kinds (``job`` carries ``job.*``); custom topics carry what
``dy.publish`` appends as ``topic.<name>``. Who may do what: :class:`~dockyard.auth.Access`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dockyard.notifications._entities import (
    BUILTIN_TOPICS,
    Attempt,
    Delivery,
    DeliveryStatus,
    NewSubscription,
    Published,
    PublishRequest,
    ReplayRequest,
    Subscription,
    SubscriptionConfig,
    Topic,
    TopicConfig,
)
from dockyard.notifications._formats import sign

if TYPE_CHECKING:
    from dockyard.notifications._deliverer import Deliverer
    from dockyard.notifications._fanout import FanOut
    from dockyard.notifications._service import NotificationService

# The server's parts load on first use: the SDK and CLI import the entities alone, without
# the database layer or an HTTP client pool.
_MODULES = {
    "Deliverer": "dockyard.notifications._deliverer",
    "FanOut": "dockyard.notifications._fanout",
    "NotificationService": "dockyard.notifications._service",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "BUILTIN_TOPICS",
    "Attempt",
    "Deliverer",
    "Delivery",
    "DeliveryStatus",
    "FanOut",
    "NewSubscription",
    "NotificationService",
    "PublishRequest",
    "Published",
    "ReplayRequest",
    "Subscription",
    "SubscriptionConfig",
    "Topic",
    "TopicConfig",
    "sign",
]
