"""Topics, subscriptions and deliveries as the API takes and returns them."""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from dockyard.json_depth import storable

__all__ = [
    "BUILTIN_TOPICS",
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

#: A JSON object the server keeps and writes back: refused when orjson could not write it.
StoredObject = Annotated[dict[str, Any], AfterValidator(storable)]

#: The resource kinds whose events form a built-in topic each (``job`` carries ``job.*``).
BUILTIN_TOPICS = (
    "experiment",
    "run",
    "logged_model",
    "registered_model",
    "model_version",
    "job",
    "transform",
    "endpoint",
    "user",
    "token",
    "grant",
    "subscription",
    "topic",
    "trigger",
    "monitoring",
)

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Event-type patterns: job.*, topic.alerts, run.status_changed, *.
_PATTERN = re.compile(r"^[A-Za-z0-9_.*-]{1,100}$")


class Topic(BaseModel):
    """A stream of events one can subscribe to.

    Built-in topics carry the events of one resource kind (``events`` = ``job.*``); custom
    topics carry what is published to them (``events`` = ``topic.<name>``).
    """

    model_config = ConfigDict(frozen=True)

    name: str
    builtin: bool
    events: str
    description: str = ""
    created_by: str | None = None
    created_time: int | None = None


class TopicConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=64)
    description: str = Field(default="", max_length=500)


AttributeValue = str | int | float | bool


class PublishRequest(BaseModel):
    """A message for a custom topic; ``attributes`` are what filter policies look at."""

    model_config = ConfigDict(extra="forbid")

    message: str | dict[str, Any] = Field(description="text, or a small JSON object")
    attributes: dict[str, AttributeValue] = Field(default_factory=dict, max_length=20)

    @field_validator("message", mode="before")
    @classmethod
    def _text_or_object(cls, value: Any) -> Any:
        # Said once, at "message", rather than once per member of the union ("message.str").
        if not isinstance(value, str | dict):
            raise ValueError(f"a message is text or a JSON object, not {type(value).__name__}")
        if not value:  # as SNS refuses an empty message
            raise ValueError("a message is not empty")
        return storable(value) if isinstance(value, dict) else value

    @field_validator("attributes")
    @classmethod
    def _finite(cls, value: dict[str, AttributeValue]) -> dict[str, AttributeValue]:
        # JSON has no NaN or Infinity, but Python's parser reads them; a filter compares them
        # to nothing, and the stored event would say null.
        for key, item in value.items():
            if isinstance(item, float) and not math.isfinite(item):
                raise ValueError(f"attribute {key!r}: {item} is not a finite number")
        storable(value)  # an integer beyond 64 bits, half a surrogate pair
        return value


class Published(BaseModel):
    event_id: int
    type: str


class SubscriptionConfig(BaseModel):
    """What a subscription receives and where it sends it.

    ``events``: event-type patterns (``job.*``, ``run.status_changed``, ``topic.alerts``, ``*``).
    ``protocol``: ``webhook`` (``endpoint`` is an http(s) URL) or ``email`` (an address).
    ``format``: the webhook body: ``json`` (the event), ``slack`` or ``teams``.
    ``secret``: signs webhook bodies; generated when omitted, shown only in the answer.
    ``filter``: an SNS-style filter policy (see :mod:`dockyard.server.notifications._filters`).
    ``retry_horizon_s``: how long a failing delivery is retried before it is dead-lettered.
    ``skip_confirmation``: an admin vouches for the endpoint: the subscription is confirmed at
    once instead of waiting for its owner to follow the confirmation message's link (recorded
    in the event log as such).
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=64)
    events: list[str] = Field(min_length=1, max_length=20)
    protocol: Literal["webhook", "email"] = "webhook"
    endpoint: str = Field(min_length=1, max_length=2000)
    format: Literal["json", "slack", "teams"] = "json"
    secret: str | None = Field(default=None, min_length=8, max_length=200)
    filter: StoredObject = Field(default_factory=dict)
    retry_horizon_s: float | None = Field(default=None, gt=0, le=14 * 86_400)
    skip_confirmation: bool = False

    @field_validator("events")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not _PATTERN.match(pattern):
                raise ValueError(
                    f"{pattern!r}: an event type or pattern (job.*, run.status_changed, "
                    "topic.alerts, *)"
                )
        return value


class SubscriptionState(StrEnum):
    """``pending_confirmation``: sent its confirmation message and nothing else, until the
    endpoint's owner confirms it; ``confirmed``: sent the events it matches."""

    PENDING_CONFIRMATION = "pending_confirmation"
    CONFIRMED = "confirmed"


class Subscription(BaseModel):
    """A subscription as listed: never its secret nor its confirmation token.

    ``confirmation_expires_time``: while pending, when its confirmation token stops being
    taken (a new message can be sent). ``confirmed_by``: ``token`` (its endpoint's owner
    followed the link), or the admin who skipped the confirmation.
    """

    model_config = ConfigDict(frozen=True)

    subscription_id: str
    name: str
    events: list[str]
    protocol: str
    endpoint: str
    format: str
    filter: dict[str, Any]
    retry_horizon_s: float
    created_by: str
    created_time: int
    state: SubscriptionState = SubscriptionState.CONFIRMED
    confirmation_expires_time: int | None = None
    confirmed_time: int | None = None
    confirmed_by: str | None = None
    pending: int = 0
    delivered: int = 0
    dead: int = 0


class NewSubscription(Subscription):
    """The answer to creating a subscription: the only time its secret is shown."""

    secret: str


class Confirmation(BaseModel):
    """A subscription's confirmation: ``state`` after it, and, for a message sent (again),
    when its token expires."""

    model_config = ConfigDict(frozen=True)
    subscription_id: str
    name: str
    state: SubscriptionState
    expires_time: int | None = None


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class Delivery(BaseModel):
    """One event on its way to one subscription."""

    model_config = ConfigDict(frozen=True)

    delivery_id: int
    subscription_id: str
    event_id: int
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_time: int
    created_time: int
    updated_time: int
    last_status_code: int | None = None
    last_error: str | None = None


class Attempt(BaseModel):
    """One try at a delivery: the answer's status code, or the error, and how long it took."""

    model_config = ConfigDict(frozen=True)

    attempt_id: int
    delivery_id: int
    event_id: int
    time: int
    status_code: int | None
    latency_ms: float
    error: str | None


class ReplayRequest(BaseModel):
    """Which dead deliveries to send again: the ones listed, or all when omitted."""

    model_config = ConfigDict(extra="forbid")

    delivery_ids: list[int] | None = Field(default=None, max_length=1000)
