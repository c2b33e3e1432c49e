"""Topics, publishing and subscriptions: the rules, checked inside each write transaction."""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select, update

from dockyard.api.notifications import (
    BUILTIN_TOPICS,
    NAME,
    Attempt,
    Confirmation,
    Delivery,
    DeliveryStatus,
    NewSubscription,
    Published,
    PublishRequest,
    Subscription,
    SubscriptionConfig,
    SubscriptionState,
    Topic,
    TopicConfig,
)
from dockyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from dockyard.limits import LIMITS
from dockyard.server.actor import Actor
from dockyard.server.auth import Access
from dockyard.server.events import MAX_BODY, EventLog
from dockyard.server.notifications._confirmations import confirm, queue_confirmation
from dockyard.server.notifications._deliverer import QUEUED
from dockyard.server.notifications._filters import validate_policy
from dockyard.server.notifications._targets import check_email, check_url
from dockyard.server.store import Database, schema
from dockyard.settings import Settings

__all__ = ["NotificationService"]

_T = schema.topics
_S = schema.subscriptions
_D = schema.deliveries
_A = schema.delivery_attempts
_E = schema.events
_SCOPE = "notifications"
_PENDING = SubscriptionState.PENDING_CONFIRMATION.value
_CONFIRMED = SubscriptionState.CONFIRMED.value
MAX_MESSAGE = 3000
MAX_PAGE = LIMITS.log_page_max_results
# ``sending``: claimed by the deliverer, not yet answered; still pending to whoever asks.
_API_STATUS = {"sending": "pending"}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class NotificationService:
    """Custom topics, ``publish``, and the subscriptions the deliverer sends to.

    Args:
        db: The metadata database.
        settings: Retry horizon default and the SSRF switch.
        events: The event log every change is appended to.
        access: The permission rules.
    """

    def __init__(self, db: Database, settings: Settings, events: EventLog, access: Access):
        self._db = db
        self._settings = settings
        self._events = events
        self._access = access

    # -- topics ---------------------------------------------------------------------------------

    def list_topics(self, actor: Actor) -> list[Topic]:
        """Built-in topics (one per resource kind) and custom ones."""
        builtin = [Topic(name=n, builtin=True, events=f"{n}.*") for n in BUILTIN_TOPICS]
        with self._db.read() as conn:
            rows = conn.execute(select(_T).order_by(_T.c.name)).all()
        return builtin + [_topic(r) for r in rows]

    def create_topic(self, actor: Actor, config: TopicConfig) -> Topic:
        self._access.require_publish(actor, "create topics")
        if not NAME.match(config.name):
            raise InvalidArgument(
                f"{config.name!r}: a topic name is letters, digits, '_', '.', '-' (at most 64)",
                field="name",
            )
        if config.name in BUILTIN_TOPICS:
            raise AlreadyExists(f"{config.name} is a built-in topic", field="name")
        row = {
            "name": config.name,
            "description": config.description,
            "created_by": actor.label[:256],
            "created_time": _now_ms(),
            "owner_id": actor.user_id,
        }
        with self._db.write() as conn:
            if conn.execute(select(_T.c.name).where(_T.c.name == config.name)).first():
                raise AlreadyExists(f"topic {config.name} exists already", field="name")
            conn.execute(insert(_T).values(row))
            self._event(conn, actor, "topics.created", "topic", config.name)
        return _topic(row)

    def delete_topic(self, actor: Actor, name: str) -> None:
        """Delete a custom topic and what subscribed to it by name.

        A subscription whose only pattern is ``topic.<name>`` is deleted with its queue (as
        :meth:`delete_subscription`); one that also names other events keeps those and loses
        this one. Wildcards (``topic.*``, ``*``) are not the topic's: they stay.
        """
        self._access.require_subscriptions(actor, f"delete topic {name}")
        pattern = f"topic.{name}"
        with self._db.write() as conn:
            if not conn.execute(delete(_T).where(_T.c.name == name)).rowcount:
                raise NotFound(f"no custom topic named {name}", field="name")
            for sub in conn.execute(select(_S.c.subscription_id, _S.c.name, _S.c.events)).all():
                patterns = sub.events.split(",")
                if pattern not in patterns:
                    continue
                kept = [p for p in patterns if p != pattern]
                if kept:
                    conn.execute(
                        update(_S)
                        .where(_S.c.subscription_id == sub.subscription_id)
                        .values(events=",".join(kept))
                    )
                    self._event(
                        conn,
                        actor,
                        "subscription.updated",
                        "subscription",
                        sub.name,
                        {"events": ",".join(kept), "reason": f"topic {name} deleted"},
                    )
                else:
                    self._drop_subscription(conn, sub.subscription_id)
                    self._event(
                        conn,
                        actor,
                        "subscription.deleted",
                        "subscription",
                        sub.name,
                        {"reason": f"topic {name} deleted"},
                    )
            self._event(conn, actor, "topics.deleted", "topic", name)

    def publish(self, actor: Actor, name: str, request: PublishRequest) -> Published:
        """Append a ``topic.<name>`` event carrying the message and its attributes (its
        creator or an admin may)."""
        what = f"publish to topic {name}"
        self._access.require_publish(actor, what)
        # The message's own bytes (UTF-8), as SNS counts them; an object's, as JSON.
        message = request.message
        size = len(message.encode() if isinstance(message, str) else orjson.dumps(message))
        if size > MAX_MESSAGE:
            raise InvalidArgument(
                f"the message is {size} bytes; at most {MAX_MESSAGE}", field="message"
            )
        for key in request.attributes:
            if not NAME.match(key):
                raise InvalidArgument(f"attribute name {key!r}", field=f"attributes.{key}")
        # The event carries both whole: past its body's limit the log would cut them short
        # (escapes count: a quote is two bytes in JSON), and filters would match the stumps.
        body = {"message": request.message, "attributes": request.attributes}
        encoded = len(orjson.dumps(body))
        if encoded > MAX_BODY:
            alone = len(orjson.dumps({"message": request.message, "attributes": {}}))
            raise InvalidArgument(
                f"the message and its attributes take {encoded} bytes as JSON; at most {MAX_BODY}",
                field="attributes" if request.attributes and alone <= MAX_BODY else "message",
            )
        type = f"topic.{name}"
        with self._db.write() as conn:
            owner = conn.execute(select(_T.c.owner_id).where(_T.c.name == name)).first()
            if owner is None:
                raise NotFound(
                    f"no custom topic named {name} (create it first: dockyard topics create)",
                    field="topic",
                )
            self._access.require_topic(actor, owner.owner_id, name, what)
            self._events.append(
                conn,
                actor,
                type,
                "topic",
                name,
                scope=f"topic:{name}",
                body=body,
            )
            event_id = int(conn.execute(select(func.max(_E.c.id))).scalar() or 0)
        return Published(event_id=event_id, type=type)

    # -- subscriptions --------------------------------------------------------------------------

    def create_subscription(self, actor: Actor, config: SubscriptionConfig) -> NewSubscription:
        """Save a subscription, pending its confirmation (:mod:`._confirmations`) unless an
        admin skips it; once confirmed it receives the events appended from then on."""
        self._access.require_subscriptions(actor, "create subscriptions")
        if config.protocol == "webhook":
            endpoint = check_url(
                config.endpoint, allow_private=self._settings.webhook_allow_private
            )
        else:
            endpoint = check_email(config.endpoint)
            if not self._settings.smtp_host:  # every delivery would fail, for a day
                raise InvalidArgument(
                    "this server sends no email: set DOCKYARD_SMTP_HOST (and DOCKYARD_SMTP_PORT, "
                    "DOCKYARD_SMTP_FROM...) on the server to subscribe an email address",
                    field="protocol",
                )
        policy = validate_policy(config.filter)
        subscription_id = secrets.token_hex(8)
        name = config.name or subscription_id
        if not NAME.match(name):
            raise InvalidArgument(f"{name!r}: letters, digits, '_', '.', '-'", field="name")
        secret = config.secret or secrets.token_urlsafe(32)
        now = _now_ms()
        skipped = config.skip_confirmation
        row = {
            "subscription_id": subscription_id,
            "name": name,
            "events": ",".join(config.events),
            "protocol": config.protocol,
            "endpoint": endpoint,
            "format": config.format,
            "secret": secret,
            "filter": orjson.dumps(policy).decode(),
            "retry_horizon_s": config.retry_horizon_s or self._settings.notify_retry_horizon_s,
            "created_by": actor.label[:256],
            "created_time": now,
            "state": _CONFIRMED if skipped else _PENDING,
            "confirmed_time": now if skipped else None,
            "confirmed_by": actor.label[:256] if skipped else None,
        }
        with self._db.write() as conn:
            if conn.execute(select(_S.c.name).where(_S.c.name == name)).first():
                raise AlreadyExists(f"subscription {name} exists already", field="name")
            row["after_event_id"] = int(conn.execute(select(func.max(_E.c.id))).scalar() or 0)
            conn.execute(insert(_S).values(row))
            self._event(
                conn,
                actor,
                "subscription.created",
                "subscription",
                name,
                {
                    "events": row["events"],
                    "protocol": config.protocol,
                    "format": config.format,
                    "state": row["state"],
                },
            )
            if skipped:  # the admin vouches for the endpoint, on the record
                self._event(
                    conn,
                    actor,
                    "subscription.confirmed",
                    "subscription",
                    name,
                    {"by": actor.label[:256], "skipped": True},
                )
            else:
                sent = queue_confirmation(conn, self._events, self._settings, actor, row)
                row["confirm_expires_time"] = sent.expires_time
        if not skipped:
            self._events.announce(QUEUED)
        return NewSubscription(**_subscription(row).model_dump(), secret=secret)

    def resend_confirmation(self, actor: Actor, ident: str) -> Confirmation:
        """Send a pending subscription a new confirmation message; its earlier token stops
        working."""
        self._access.require_subscriptions(actor, f"resend the confirmation of {ident}")
        with self._db.write() as conn:
            row = _find(conn, ident)
            if row.state != _PENDING:
                raise Conflict(
                    f"subscription {row.name} is confirmed already: there is nothing to confirm",
                    field="subscription",
                )
            sent = queue_confirmation(conn, self._events, self._settings, actor, row)
        self._events.announce(QUEUED)
        return sent

    def confirm(self, actor: Actor, token: str, pattern: str | None = None) -> Confirmation:
        """Confirm the subscription ``token`` was sent to (with ``pattern``: only one subscribed
        to it). The token is the permission: whoever holds it received the confirmation
        message, so no login is asked (``actor`` is recorded)."""
        with self._db.write() as conn:
            return confirm(conn, self._events, actor, token, pattern)

    def list_subscriptions(self, actor: Actor) -> list[Subscription]:
        self._access.require_subscriptions(actor, "list subscriptions")
        with self._db.read() as conn:
            rows = conn.execute(select(_S).order_by(_S.c.name)).all()
            counts = _counts(conn)
        return [_subscription(r, counts.get(r.subscription_id, {})) for r in rows]

    def get_subscription(self, actor: Actor, ident: str) -> Subscription:
        """A subscription by id or name, with its delivery counts."""
        self._access.require_subscriptions(actor, f"read subscription {ident}")
        with self._db.read() as conn:
            row = _find(conn, ident)
            counts = _counts(conn, row.subscription_id)
        return _subscription(row, counts.get(row.subscription_id, {}))

    def delete_subscription(self, actor: Actor, ident: str) -> None:
        """Delete it with its queue and log: pending deliveries are dropped."""
        self._access.require_subscriptions(actor, f"delete subscription {ident}")
        with self._db.write() as conn:
            row = _find(conn, ident)
            self._drop_subscription(conn, row.subscription_id)
            self._event(conn, actor, "subscription.deleted", "subscription", row.name)

    @staticmethod
    def _drop_subscription(conn: Connection, sid: str) -> None:
        conn.execute(delete(_A).where(_A.c.subscription_id == sid))
        conn.execute(delete(_D).where(_D.c.subscription_id == sid))
        conn.execute(delete(_S).where(_S.c.subscription_id == sid))

    def deliveries(
        self,
        actor: Actor,
        ident: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int = 100,
        before: int | None = None,
    ) -> list[Delivery]:
        """Deliveries of one subscription, newest first (``status=dead``: its dead letters)."""
        self._access.require_subscriptions(actor, f"read deliveries of {ident}")
        limit = max(1, min(limit, MAX_PAGE))
        with self._db.read() as conn:
            sid = _find(conn, ident).subscription_id
            query = (
                select(_D, _E.c.type.label("event_type"))
                .join(_E, _E.c.id == _D.c.event_id, isouter=True)
                .where(_D.c.subscription_id == sid)
            )
            if status is not None:
                wanted = DeliveryStatus(status).value
                query = query.where(
                    _D.c.status.in_([wanted, "sending"] if wanted == "pending" else [wanted])
                )
            if before is not None:
                query = query.where(_D.c.delivery_id < before)
            rows = conn.execute(query.order_by(_D.c.delivery_id.desc()).limit(limit)).all()
        return [_delivery(r) for r in rows]

    def attempts(
        self, actor: Actor, ident: str, *, limit: int = 100, before: int | None = None
    ) -> list[Attempt]:
        """The delivery log of one subscription, newest attempt first."""
        self._access.require_subscriptions(actor, f"read the delivery log of {ident}")
        limit = max(1, min(limit, MAX_PAGE))
        with self._db.read() as conn:
            sid = _find(conn, ident).subscription_id
            query = select(_A).where(_A.c.subscription_id == sid)
            if before is not None:
                query = query.where(_A.c.attempt_id < before)
            rows = conn.execute(query.order_by(_A.c.attempt_id.desc()).limit(limit)).all()
        return [
            Attempt(
                attempt_id=r.attempt_id,
                delivery_id=r.delivery_id,
                event_id=r.event_id,
                time=r.time,
                status_code=r.status_code,
                latency_ms=r.latency_ms,
                error=r.error,
            )
            for r in rows
        ]

    def replay(self, actor: Actor, ident: str, delivery_ids: list[int] | None = None) -> int:
        """Queue dead deliveries again (all of them, or those listed); how many were."""
        self._access.require_subscriptions(actor, f"replay deliveries of {ident}")
        now = _now_ms()
        with self._db.write() as conn:
            row = _find(conn, ident)
            where = [_D.c.subscription_id == row.subscription_id, _D.c.status == "dead"]
            if delivery_ids is not None:
                where.append(_D.c.delivery_id.in_(delivery_ids))
            count = conn.execute(
                update(_D)
                .where(*where)
                .values(
                    status="pending",
                    next_attempt_time=now,
                    horizon_time=now + int(row.retry_horizon_s * 1000),
                    updated_time=now,
                )
            ).rowcount
            self._event(
                conn, actor, "subscription.replayed", "subscription", row.name, {"count": count}
            )
        return int(count)

    def _event(
        self,
        conn: Connection,
        actor: Actor,
        type: str,
        kind: str,
        name: str,
        body: dict[str, Any] | None = None,
    ) -> None:
        self._events.append(conn, actor, type, kind, name, scope=_SCOPE, body=body)


def _find(conn: Connection, ident: str) -> Any:
    row = conn.execute(
        select(_S).where((_S.c.subscription_id == ident) | (_S.c.name == ident))
    ).first()
    if row is None:
        raise NotFound(f"no subscription {ident}", field="subscription")
    return row


def _counts(conn: Connection, sid: str | None = None) -> dict[str, dict[str, int]]:
    query = select(_D.c.subscription_id, _D.c.status, func.count()).group_by(
        _D.c.subscription_id, _D.c.status
    )
    if sid is not None:
        query = query.where(_D.c.subscription_id == sid)
    found: dict[str, dict[str, int]] = {}
    for sub, status, count in conn.execute(query).all():
        key = _API_STATUS.get(status, status)
        counts = found.setdefault(sub, {})
        counts[key] = counts.get(key, 0) + int(count)
    return found


def _topic(row: Any) -> Topic:
    m = row if isinstance(row, dict) else row._mapping
    return Topic(
        name=m["name"],
        builtin=False,
        events=f"topic.{m['name']}",
        description=m["description"] or "",
        created_by=m["created_by"],
        created_time=m["created_time"],
    )


def _subscription(row: Any, counts: dict[str, int] | None = None) -> Subscription:
    m = row if isinstance(row, dict) else row._mapping
    counts = counts or {}
    return Subscription(
        subscription_id=m["subscription_id"],
        name=m["name"],
        events=m["events"].split(","),
        protocol=m["protocol"],
        endpoint=m["endpoint"],
        format=m["format"],
        filter=orjson.loads(m["filter"]),
        retry_horizon_s=m["retry_horizon_s"],
        created_by=m["created_by"],
        created_time=m["created_time"],
        state=SubscriptionState(m.get("state") or _CONFIRMED),
        confirmation_expires_time=m.get("confirm_expires_time"),
        confirmed_time=m.get("confirmed_time"),
        confirmed_by=m.get("confirmed_by"),
        pending=counts.get("pending", 0),
        delivered=counts.get("delivered", 0),
        dead=counts.get("dead", 0),
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        delivery_id=row.delivery_id,
        subscription_id=row.subscription_id,
        event_id=row.event_id,
        event_type=row.event_type or "",
        status=DeliveryStatus(_API_STATUS.get(row.status, row.status)),
        attempts=row.attempts,
        next_attempt_time=row.next_attempt_time,
        created_time=row.created_time,
        updated_time=row.updated_time,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
    )
