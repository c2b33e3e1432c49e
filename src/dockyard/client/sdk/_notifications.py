"""Notifications from Python: ``dy.publish`` to a custom topic, and subscription helpers.

Bodies are the server's request models (:mod:`dockyard.api.notifications`), validated here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dockyard.api.notifications import (
    Confirmation,
    Delivery,
    NewSubscription,
    Published,
    PublishRequest,
    ReplayRequest,
    Subscription,
    SubscriptionConfig,
    Topic,
    TopicConfig,
)
from dockyard.client.http import from_answer, routes
from dockyard.client.sdk._context import context
from dockyard.client.sdk._requests import build_request

__all__ = [
    "confirm_subscription",
    "create_topic",
    "delete_subscription",
    "list_deliveries",
    "list_subscriptions",
    "publish",
    "replay_deliveries",
    "resend_confirmation",
    "subscribe",
]


def create_topic(name: str, description: str = "") -> Topic:
    """Create a custom topic that :func:`publish` can send to."""
    body = build_request(TopicConfig, name=name, description=description)
    return from_answer(Topic, context().client.call(routes.CREATE_TOPIC(), body))


def publish(
    topic: str, message: str | Mapping[str, Any], attributes: Mapping[str, Any] | None = None
) -> Published:
    """Publish ``message`` to a custom topic; ``attributes`` are what filter policies match.

    Appends a ``topic.<name>`` event; subscriptions to it are notified.
    """
    body = build_request(PublishRequest, message=message, attributes=dict(attributes or {}))
    return from_answer(Published, context().client.call(routes.PUBLISH(name=topic), body))


def subscribe(
    events: str | Sequence[str],
    endpoint: str,
    *,
    secret: str | None = None,
    format: str = "json",
    filter: Mapping[str, Any] | None = None,
    protocol: str = "webhook",
    name: str | None = None,
    retry_horizon_s: float | None = None,
    skip_confirmation: bool = False,
) -> NewSubscription:
    """Send events matching ``events`` (``job.*``, ``topic.alerts``) to a webhook URL or, with
    ``protocol="email"``, an address. The answer holds the signing secret, shown only here.

    The subscription waits (``state="pending_confirmation"``) until the endpoint's owner
    follows the link of the confirmation message sent there (or passes its token to
    :func:`confirm_subscription`); ``skip_confirmation=True`` vouches for the endpoint
    instead, on the record."""
    optional = {"secret": secret, "name": name, "retry_horizon_s": retry_horizon_s}
    body = build_request(
        SubscriptionConfig,
        events=[events] if isinstance(events, str) else list(events),
        endpoint=endpoint,
        protocol=protocol,
        format=format,
        filter=dict(filter or {}),
        skip_confirmation=skip_confirmation,
        **{k: v for k, v in optional.items() if v is not None},
    )
    found = context().client.call(routes.CREATE_SUBSCRIPTION(), body)
    return from_answer(NewSubscription, found)


def list_subscriptions() -> list[Subscription]:
    found = context().client.paginate(routes.LIST_SUBSCRIPTIONS(), "subscriptions")
    return [from_answer(Subscription, s) for s in found]


def list_deliveries(subscription: str, *, status: str | None = None) -> list[Delivery]:
    """A subscription's deliveries, newest first (``status="dead"``: its dead letters)."""
    found = context().client.call(
        routes.LIST_DELIVERIES(ident=subscription), params={"status": status}
    )
    return [from_answer(Delivery, d) for d in found["deliveries"]]


def replay_deliveries(subscription: str, delivery_ids: Sequence[int] | None = None) -> int:
    """Send dead deliveries again (all, or those listed); how many were queued."""
    ids = {"delivery_ids": list(delivery_ids)} if delivery_ids is not None else {}
    body = build_request(ReplayRequest, **ids)
    found = context().client.call(routes.REPLAY_DELIVERIES(ident=subscription), body)
    return int(found["replayed"])


def delete_subscription(subscription: str) -> None:
    context().client.call(routes.DELETE_SUBSCRIPTION(ident=subscription))


def resend_confirmation(subscription: str) -> Confirmation:
    """Send a pending subscription a new confirmation message (its earlier token stops
    working)."""
    found = context().client.call(routes.RESEND_CONFIRMATION(ident=subscription))
    return from_answer(Confirmation, found)


def confirm_subscription(token: str) -> Confirmation:
    """Confirm a subscription with the token its confirmation message carried."""
    found = context().client.call(routes.CONFIRM_SUBSCRIPTION(), params={"token": token})
    return from_answer(Confirmation, found)
