"""SNS (API version ``2010-03-31``, the query protocol): topics, subscriptions and publishing over
:mod:`dockyard.server.notifications`.

A topic ARN is ``arn:aws:sns:us-east-1:000000000000:<topic>``: Dockyard's custom topics, and its
built-in ones (``job``, ``endpoint``...: one per resource kind, which one may subscribe to but
not publish to or delete). A subscription's ARN is the topic's with ``:<subscription id>``.

- ``http``/``https`` subscriptions are Dockyard webhooks (their body is Dockyard's event, JSON,
  signed with the subscription's secret); ``email`` ones are email. Other protocols (sqs,
  lambda, sms...) are refused. As on SNS, a new one is pending: ``Subscribe`` answers
  ``pending confirmation`` (its ARN with ``ReturnSubscriptionArn``), lists show
  ``PendingConfirmation``, and the endpoint is sent a ``SubscriptionConfirmation`` (Dockyard's
  shape: ``token`` and ``confirm_url``) and nothing else until the link is followed or
  ``ConfirmSubscription`` is called with its ``Token`` (here a signed call like any other; the
  link needs no credentials).
- A ``FilterPolicy`` attribute is the subscription's filter policy, on message attributes (SNS's
  default scope); ``RawMessageDelivery`` and the other attributes are accepted and not kept.
- ``Publish``: the message, its attributes (String, Number; String.Array as its JSON text),
  and the subject as the attribute ``Subject``. Messages are at most 3000 bytes here.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from typing import Any, Literal

from dockyard.api.notifications import (
    BUILTIN_TOPICS,
    PublishRequest,
    Subscription,
    SubscriptionConfig,
    SubscriptionState,
    TopicConfig,
)
from dockyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, PermissionDenied
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.compat.aws._arn import ACCOUNT, arn
from dockyard.server.compat.aws._codes import translated
from dockyard.server.compat.aws._errors import AwsError
from dockyard.server.compat.aws._query import Entries, Form, entries

__all__ = ["ACTIONS", "INVALID", "NAMESPACE", "topic_arn"]

NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"
INVALID = "InvalidParameter"
PAGE = 100
_PREFIX = "arn:aws:sns:"
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_PROTOCOLS: dict[str, Literal["webhook", "email"]] = {
    "http": "webhook",
    "https": "webhook",
    "email": "email",
}
Body = dict[str, Any]


def topic_arn(name: str) -> str:
    return arn("sns", name)


def _required(form: Form, name: str) -> str:
    value = form.get(name)
    if not value:
        raise InvalidArgument(f"Invalid parameter: {name} is required", field=name)
    return value


def _not_found(what: str) -> AwsError:
    return AwsError("NotFound", f"{what} does not exist", 404)


def _topic_of(services: Services, actor: Actor, value: str, field: str = "TopicArn") -> str:
    """The Dockyard topic an ARN names (it must exist)."""
    parts = value.split(":")
    if not value.startswith(_PREFIX) or len(parts) != 6 or not parts[5]:
        raise InvalidArgument(
            f"Invalid parameter: {field}: {value[:120]!r} is not a topic ARN "
            "(arn:aws:sns:<region>:<account>:<topic>)",
            field=field,
        )
    name = parts[5]
    if name not in {t.name for t in services.notifications.list_topics(actor)}:
        raise _not_found(f"Topic {value}")
    return name


def _events(topic: str) -> str:
    return f"{topic}.*" if topic in BUILTIN_TOPICS else f"topic.{topic}"


def _topics_of(sub: Subscription) -> list[str]:
    """The topics a subscription's patterns name (``topic.<name>``, ``<built-in>.*``)."""
    found = []
    for pattern in sub.events:
        name = pattern.removeprefix("topic.") if pattern.startswith("topic.") else None
        if name is None and pattern.endswith(".*") and pattern[:-2] in BUILTIN_TOPICS:
            name = pattern[:-2]
        if name is not None:
            found.append(name)
    return found


def _pairs(services: Services, actor: Actor, topic: str | None) -> list[tuple[Subscription, str]]:
    return [
        (sub, name)
        for sub in services.notifications.list_subscriptions(actor)
        for name in _topics_of(sub)
        if topic is None or name == topic
    ]


def _subscriptions(services: Services, actor: Actor, topic: str | None) -> list[Body]:
    return [_subscription(sub, name) for sub, name in _pairs(services, actor, topic)]


def _pending(sub: Subscription) -> bool:
    return sub.state == SubscriptionState.PENDING_CONFIRMATION


def _subscription(sub: Subscription, topic: str) -> Body:
    protocol = sub.protocol
    if protocol == "webhook":
        protocol = "https" if sub.endpoint.startswith("https:") else "http"
    return {
        # SNS lists an unconfirmed subscription without its ARN
        "SubscriptionArn": "PendingConfirmation"
        if _pending(sub)
        else f"{topic_arn(topic)}:{sub.subscription_id}",
        "Owner": ACCOUNT,
        "Protocol": protocol,
        "Endpoint": sub.endpoint,
        "TopicArn": topic_arn(topic),
    }


def _page(items: list[Body], form: Form, key: str) -> Body:
    token = form.get("NextToken")
    start = 0
    if token:
        if not token.isascii() or not token.isdigit():
            raise InvalidArgument(f"Invalid parameter: NextToken {token[:40]!r}", field="NextToken")
        start = int(token)
    answer: Body = {key: items[start : start + PAGE]}
    if len(items) > start + PAGE:
        answer["NextToken"] = str(start + PAGE)
    return answer


# -- topics -------------------------------------------------------------------------------------


def create_topic(services: Services, actor: Actor, form: Form) -> Body:
    name = _required(form, "Name")
    attributes = entries(form, "Attributes")
    if attributes.get("FifoTopic", "false").lower() == "true" or name.endswith(".fifo"):
        raise InvalidArgument(
            "Invalid parameter: FIFO topics are not supported here", field="Attributes.FifoTopic"
        )
    with contextlib.suppress(AlreadyExists):  # SNS: creating a topic that exists answers its ARN
        services.notifications.create_topic(
            actor, TopicConfig(name=name, description=attributes.get("DisplayName", ""))
        )
    return {"TopicArn": topic_arn(name)}


def list_topics(services: Services, actor: Actor, form: Form) -> Body:
    topics = [{"TopicArn": topic_arn(t.name)} for t in services.notifications.list_topics(actor)]
    return _page(topics, form, "Topics")


def get_topic_attributes(services: Services, actor: Actor, form: Form) -> Body:
    value = _required(form, "TopicArn")
    name = _topic_of(services, actor, value)
    topic = next(t for t in services.notifications.list_topics(actor) if t.name == name)
    attributes = Entries(
        TopicArn=topic_arn(name),
        Owner=ACCOUNT,
        DisplayName=topic.description,
        SubscriptionsPending="0",
        SubscriptionsDeleted="0",
    )
    with contextlib.suppress(PermissionDenied):  # who may not read subscriptions: no count
        subs = [sub for sub, _ in _pairs(services, actor, name)]
        pending = sum(_pending(sub) for sub in subs)
        attributes["SubscriptionsConfirmed"] = str(len(subs) - pending)
        attributes["SubscriptionsPending"] = str(pending)
    return {"Attributes": attributes}


def delete_topic(services: Services, actor: Actor, form: Form) -> Body:
    value = _required(form, "TopicArn")
    try:
        name = _topic_of(services, actor, value)
    except AwsError:
        return {}  # SNS: deleting a topic that does not exist is no error
    if name in BUILTIN_TOPICS:
        raise InvalidArgument(
            f"Invalid parameter: TopicArn: {name} is a built-in topic (the events of a resource "
            "kind); it cannot be deleted",
            field="TopicArn",
        )
    services.notifications.delete_topic(actor, name)
    return {}


# -- subscriptions ------------------------------------------------------------------------------


def subscribe(services: Services, actor: Actor, form: Form) -> Body:
    name = _topic_of(services, actor, _required(form, "TopicArn"))
    protocol = _required(form, "Protocol").lower()
    kind = _PROTOCOLS.get(protocol)
    if kind is None:
        raise InvalidArgument(
            f"Invalid parameter: Protocol {protocol!r} is not supported here: http, https "
            "(webhooks) and email are",
            field="Protocol",
        )
    endpoint = _required(form, "Endpoint")
    if kind == "webhook" and not endpoint.lower().startswith(f"{protocol}://"):
        raise InvalidArgument(
            f"Invalid parameter: Endpoint must be an {protocol}:// URL for protocol {protocol}",
            field="Endpoint",
        )
    attributes = entries(form, "Attributes")
    if attributes.get("FilterPolicyScope", "MessageAttributes") != "MessageAttributes":
        raise InvalidArgument(
            "Invalid parameter: FilterPolicyScope: only MessageAttributes is supported here",
            field="Attributes.FilterPolicyScope",
        )
    policy: Any = {}
    if attributes.get("FilterPolicy"):
        try:
            policy = json.loads(attributes["FilterPolicy"])
        except ValueError as exc:
            raise InvalidArgument(
                f"Invalid parameter: FilterPolicy is not JSON: {exc}",
                field="Attributes.FilterPolicy",
            ) from None
        if not isinstance(policy, dict):
            raise InvalidArgument(
                "Invalid parameter: FilterPolicy is a JSON object",
                field="Attributes.FilterPolicy",
            )
    whole = form.get("ReturnSubscriptionArn", "false").lower() == "true"

    def answer(sub: Subscription) -> Body:
        if _pending(sub) and not whole:
            return {"SubscriptionArn": "pending confirmation"}  # as SNS answers it
        return {"SubscriptionArn": f"{topic_arn(name)}:{sub.subscription_id}"}

    for sub, _ in _pairs(services, actor, name):  # SNS: the same subscription again
        listed = _subscription(sub, name)
        if listed["Endpoint"] == endpoint and listed["Protocol"] == protocol:
            return answer(sub)
    made = services.notifications.create_subscription(
        actor,
        SubscriptionConfig(events=[_events(name)], protocol=kind, endpoint=endpoint, filter=policy),
    )
    return answer(made)


def confirm_subscription(services: Services, actor: Actor, form: Form) -> Body:
    name = _topic_of(services, actor, _required(form, "TopicArn"))
    token = _required(form, "Token")
    # As SNS: the token confirms a subscription to the topic the call names, and no other.
    confirmed = services.notifications.confirm(actor, token, _events(name))
    return {"SubscriptionArn": f"{topic_arn(name)}:{confirmed.subscription_id}"}


def list_subscriptions_by_topic(services: Services, actor: Actor, form: Form) -> Body:
    name = _topic_of(services, actor, _required(form, "TopicArn"))
    return _page(_subscriptions(services, actor, name), form, "Subscriptions")


def list_subscriptions(services: Services, actor: Actor, form: Form) -> Body:
    return _page(_subscriptions(services, actor, None), form, "Subscriptions")


def unsubscribe(services: Services, actor: Actor, form: Form) -> Body:
    value = _required(form, "SubscriptionArn")
    parts = value.split(":")
    if not value.startswith(_PREFIX) or len(parts) != 7 or not parts[6]:
        raise InvalidArgument(
            f"Invalid parameter: SubscriptionArn: {value[:120]!r} is not a subscription ARN",
            field="SubscriptionArn",
        )
    try:
        services.notifications.delete_subscription(actor, parts[6])
    except NotFound:
        raise _not_found(f"Subscription {value}") from None
    return {}


# -- publishing ---------------------------------------------------------------------------------


def _attribute(form: Form, index: int) -> tuple[str, Any]:
    where = f"MessageAttributes.entry.{index}"
    name = form[f"{where}.Name"]
    kind = form.get(f"{where}.Value.DataType", "")
    text = form.get(f"{where}.Value.StringValue")
    field = f"MessageAttributes.{name}"
    if kind.startswith("Binary"):
        raise AwsError(
            "InvalidParameterValue", f"{field}: Binary attributes are not supported here"
        )
    if text is None or not kind:
        raise AwsError(
            "InvalidParameterValue",
            f"{field}: an attribute needs a DataType and a StringValue",
        )
    if kind.startswith("Number"):
        # A decimal number, as SNS takes it: float() would also read NaN, Infinity, 1_000 and
        # surrounding blanks, and 1e999 is infinite.
        number = float(text) if _NUMBER.fullmatch(text) else math.nan
        if not math.isfinite(number):
            raise AwsError(
                "InvalidParameterValue", f"{field}: {text[:40]!r} is not a finite Number"
            )
        whole = number.is_integer() and "." not in text and abs(number) < 2**63
        return name, int(number) if whole else number
    if not kind.startswith(("String", "String.Array")):
        raise AwsError(
            "InvalidParameterValue",
            f"{field}: DataType is String, String.Array or Number (got {kind[:40]!r})",
        )
    return name, text


def publish(services: Services, actor: Actor, form: Form) -> Body:
    if form.get("PhoneNumber"):
        raise InvalidArgument(
            "Invalid parameter: PhoneNumber: SMS is not supported here", field="PhoneNumber"
        )
    value = form.get("TopicArn") or form.get("TargetArn")
    if not value:
        raise InvalidArgument("Invalid parameter: TopicArn is required", field="TopicArn")
    name = _topic_of(services, actor, value)
    message = _required(form, "Message")
    if form.get("MessageStructure") == "json":
        try:
            chosen = json.loads(message).get("default")
        except (ValueError, AttributeError):
            chosen = None
        if not isinstance(chosen, str):
            raise InvalidArgument(
                "Invalid parameter: Message: with MessageStructure json, the message is a JSON "
                "object with a 'default' string",
                field="Message",
            )
        message = chosen
    attributes: dict[str, Any] = {}
    index = 1
    while f"MessageAttributes.entry.{index}.Name" in form:
        key, item = _attribute(form, index)
        attributes[key] = item
        index += 1
    subject = form.get("Subject")
    if subject is not None:
        if not subject or len(subject) >= 100 or not subject.isprintable():
            raise InvalidArgument(  # as SNS takes a subject
                "Invalid parameter: Subject: less than 100 printable characters, no line breaks",
                field="Subject",
            )
        if "Subject" in attributes:
            raise InvalidArgument(
                "Invalid parameter: a Subject and a message attribute named Subject",
                field="Subject",
            )
        attributes["Subject"] = subject
    published = services.notifications.publish(
        actor, name, PublishRequest(message=message, attributes=attributes)
    )
    return {"MessageId": str(published.event_id)}


ACTIONS = translated(
    {
        "CreateTopic": create_topic,
        "ListTopics": list_topics,
        "GetTopicAttributes": get_topic_attributes,
        "DeleteTopic": delete_topic,
        "Subscribe": subscribe,
        "ConfirmSubscription": confirm_subscription,
        "ListSubscriptionsByTopic": list_subscriptions_by_topic,
        "ListSubscriptions": list_subscriptions,
        "Unsubscribe": unsubscribe,
        "Publish": publish,
    },
    {
        InvalidArgument: INVALID,
        PermissionDenied: ("AuthorizationError", 403),
        NotFound: ("NotFound", 404),
        Conflict: INVALID,  # SNS: a used or expired token is an invalid parameter
    },
    fields={
        "message": "Message",
        "name": "Name",
        "endpoint": "Endpoint",
        "topic": "TopicArn",
        "filter": "Attributes.FilterPolicy",
        "attributes": "MessageAttributes",
        "token": "Token",
    },
)
