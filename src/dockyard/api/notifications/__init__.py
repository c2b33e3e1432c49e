"""Topics, subscriptions and deliveries as the API accepts and returns them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard.lazy import exports

if TYPE_CHECKING:
    from dockyard.api.notifications._entities import (
        BUILTIN_TOPICS,
        NAME,
        Attempt,
        Confirmation,
        Delivery,
        DeliveryStatus,
        NewSubscription,
        Published,
        PublishRequest,
        ReplayRequest,
        Subscription,
        SubscriptionConfig,
        SubscriptionState,
        Topic,
        TopicConfig,
    )

__all__ = [
    "BUILTIN_TOPICS",
    "NAME",
    "Attempt",
    "Confirmation",
    "Delivery",
    "DeliveryStatus",
    "NewSubscription",
    "PublishRequest",
    "Published",
    "ReplayRequest",
    "Subscription",
    "SubscriptionConfig",
    "SubscriptionState",
    "Topic",
    "TopicConfig",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "Attempt": "._entities",
        "Confirmation": "._entities",
        "BUILTIN_TOPICS": "._entities",
        "Delivery": "._entities",
        "DeliveryStatus": "._entities",
        "NAME": "._entities",
        "NewSubscription": "._entities",
        "PublishRequest": "._entities",
        "Published": "._entities",
        "ReplayRequest": "._entities",
        "Subscription": "._entities",
        "SubscriptionConfig": "._entities",
        "SubscriptionState": "._entities",
        "Topic": "._entities",
        "TopicConfig": "._entities",
    },
)
