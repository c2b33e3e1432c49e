"""Notifications: ``/api/v1/topics`` (custom topics, publishing), ``/api/v1/subscriptions``
(webhook and email subscriptions, their confirmation, delivery queue, delivery log and dead
letters) and ``/api/v1/confirm-subscription``, the link a confirmation message carries: open
without credentials (the auth layer lists it as public), its single-use token the
credential."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from dockyard.api.notifications import (
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
    Topic,
    TopicConfig,
)
from dockyard.limits import LIMITS
from dockyard.server._deps import ActorDep, ServicesDep
from dockyard.server._pages import MaxResults, PageToken, one_page
from dockyard.server._route import OneHopRoute
from dockyard.server.notifications import CONFIRM_PATH

topics = APIRouter(prefix="/api/v1/topics", tags=["notifications"], route_class=OneHopRoute)
subscriptions = APIRouter(
    prefix="/api/v1/subscriptions", tags=["notifications"], route_class=OneHopRoute
)
confirmations = APIRouter(tags=["notifications"], route_class=OneHopRoute)
router = APIRouter()


class TopicList(BaseModel):
    topics: list[Topic]
    next_page_token: str | None = None


class SubscriptionList(BaseModel):
    subscriptions: list[Subscription]
    next_page_token: str | None = None


class DeliveryList(BaseModel):
    deliveries: list[Delivery]


class AttemptList(BaseModel):
    attempts: list[Attempt]


class Replayed(BaseModel):
    replayed: int


@topics.get("")
def list_topics(
    services: ServicesDep,
    actor: ActorDep,
    max_results: MaxResults = LIMITS.page_default_results,
    page_token: PageToken = None,
) -> TopicList:
    """Built-in topics (one per resource kind: ``job`` carries ``job.*``) and custom ones, a
    page at a time."""
    found = services.notifications.list_topics(actor)
    page, token = one_page(found, max_results, page_token)
    return TopicList(topics=page, next_page_token=token)


@topics.post("", status_code=201)
def create_topic(config: TopicConfig, services: ServicesDep, actor: ActorDep) -> Topic:
    """A custom topic: what is published to it is appended as ``topic.<name>`` events."""
    return services.notifications.create_topic(actor, config)


@topics.delete("/{name}", status_code=204)
def delete_topic(name: str, services: ServicesDep, actor: ActorDep) -> Response:
    services.notifications.delete_topic(actor, name)
    return Response(status_code=204)


@topics.post("/{name}/publish", status_code=201)
def publish(
    name: str, request: PublishRequest, services: ServicesDep, actor: ActorDep
) -> Published:
    """Publish a message (text or a small JSON object) with attributes filters can match."""
    return services.notifications.publish(actor, name, request)


@subscriptions.post("", status_code=201)
def create_subscription(
    config: SubscriptionConfig, services: ServicesDep, actor: ActorDep
) -> NewSubscription:
    """Subscribe a webhook or an email address; the answer is the only one showing the secret."""
    return services.notifications.create_subscription(actor, config)


@subscriptions.get("")
def list_subscriptions(
    services: ServicesDep,
    actor: ActorDep,
    max_results: MaxResults = LIMITS.page_default_results,
    page_token: PageToken = None,
) -> SubscriptionList:
    """Subscriptions with their delivery counts, a page at a time."""
    found = services.notifications.list_subscriptions(actor)
    page, token = one_page(found, max_results, page_token)
    return SubscriptionList(subscriptions=page, next_page_token=token)


@subscriptions.get("/{ident}")
def describe_subscription(ident: str, services: ServicesDep, actor: ActorDep) -> Subscription:
    """A subscription (by id or name) with its pending, delivered and dead counts."""
    return services.notifications.get_subscription(actor, ident)


@subscriptions.delete("/{ident}", status_code=204)
def delete_subscription(ident: str, services: ServicesDep, actor: ActorDep) -> Response:
    services.notifications.delete_subscription(actor, ident)
    return Response(status_code=204)


@subscriptions.get("/{ident}/deliveries")
def list_deliveries(
    ident: str,
    services: ServicesDep,
    actor: ActorDep,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=LIMITS.log_page_max_results)] = 100,
    before: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
) -> DeliveryList:
    """Deliveries, newest first; ``status=dead`` lists the dead letters."""
    found = services.notifications.deliveries(
        actor, ident, status=status, limit=limit, before=before
    )
    return DeliveryList(deliveries=found)


@subscriptions.get("/{ident}/attempts")
def list_attempts(
    ident: str,
    services: ServicesDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=LIMITS.log_page_max_results)] = 100,
    before: Annotated[int | None, Query(ge=1, lt=2**63)] = None,
) -> AttemptList:
    """The delivery log: every attempt with its status code, latency and error."""
    found = services.notifications.attempts(actor, ident, limit=limit, before=before)
    return AttemptList(attempts=found)


@subscriptions.post("/{ident}/replay")
def replay(
    ident: str, services: ServicesDep, actor: ActorDep, request: ReplayRequest | None = None
) -> Replayed:
    """Queue dead deliveries again: those listed in ``delivery_ids``, or all."""
    ids = request.delivery_ids if request is not None else None
    return Replayed(replayed=services.notifications.replay(actor, ident, ids))


@subscriptions.post("/{ident}/resend")
def resend_confirmation(ident: str, services: ServicesDep, actor: ActorDep) -> Confirmation:
    """Send a pending subscription a new confirmation message; its earlier token stops
    working."""
    return services.notifications.resend_confirmation(actor, ident)


Token = Annotated[str, Query(min_length=1, max_length=200, description="the message's token")]


@confirmations.get(CONFIRM_PATH)
def confirm_subscription_link(token: Token, services: ServicesDep, actor: ActorDep) -> Confirmation:
    """Confirm the subscription a confirmation message was sent for (its link: no login)."""
    return services.notifications.confirm(actor, token)


@confirmations.post(CONFIRM_PATH)
def confirm_subscription(token: Token, services: ServicesDep, actor: ActorDep) -> Confirmation:
    """The same, posted (a webhook receiver that confirms by itself)."""
    return services.notifications.confirm(actor, token)


router.include_router(topics)
router.include_router(confirmations)
router.include_router(subscriptions)
