"""Notifications from Python: ``dy.publish`` to a custom topic, and subscription helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dockyard.api.notifications import Delivery, NewSubscription, Published, Subscription, Topic
from dockyard.client.sdk._context import context

__all__ = [
    "create_topic",
    "delete_subscription",
    "list_deliveries",
    "list_subscriptions",
    "publish",
    "replay_deliveries",
    "subscribe",
]


def create_topic(name: str, description: str = "") -> Topic:
    """Create a custom topic that :func:`publish` can send to."""
    body = {"name": name, "description": description}
    return Topic.model_validate(context().client.request("POST", "/api/v1/topics", json=body))


def publish(
    topic: str, message: str | Mapping[str, Any], attributes: Mapping[str, Any] | None = None
) -> Published:
    """Publish ``message`` to a custom topic; ``attributes`` are what filter policies match.

    Appends a ``topic.<name>`` event; subscriptions to it are notified.
    """
    body = {"message": message, "attributes": dict(attributes or {})}
    found = context().client.request("POST", f"/api/v1/topics/{topic}/publish", json=body)
    return Published.model_validate(found)


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
) -> NewSubscription:
    """Send events matching ``events`` (``job.*``, ``topic.alerts``) to a webhook URL or, with
    ``protocol="email"``, an address. The answer holds the signing secret, shown only here."""
    body: dict[str, Any] = {
        "events": [events] if isinstance(events, str) else list(events),
        "endpoint": endpoint,
        "protocol": protocol,
        "format": format,
        "filter": dict(filter or {}),
    }
    for key, value in (("secret", secret), ("name", name), ("retry_horizon_s", retry_horizon_s)):
        if value is not None:
            body[key] = value
    found = context().client.request("POST", "/api/v1/subscriptions", json=body)
    return NewSubscription.model_validate(found)


def list_subscriptions() -> list[Subscription]:
    found = context().client.request("GET", "/api/v1/subscriptions")
    return [Subscription.model_validate(s) for s in found["subscriptions"]]


def list_deliveries(subscription: str, *, status: str | None = None) -> list[Delivery]:
    """A subscription's deliveries, newest first (``status="dead"``: its dead letters)."""
    params = {"status": status} if status else {}
    found = context().client.request(
        "GET", f"/api/v1/subscriptions/{subscription}/deliveries", params=params
    )
    return [Delivery.model_validate(d) for d in found["deliveries"]]


def replay_deliveries(subscription: str, delivery_ids: Sequence[int] | None = None) -> int:
    """Send dead deliveries again (all, or those listed); how many were queued."""
    body = {"delivery_ids": list(delivery_ids)} if delivery_ids is not None else {}
    found = context().client.request(
        "POST", f"/api/v1/subscriptions/{subscription}/replay", json=body
    )
    return int(found["replayed"])


def delete_subscription(subscription: str) -> None:
    context().client.request("DELETE", f"/api/v1/subscriptions/{subscription}")
