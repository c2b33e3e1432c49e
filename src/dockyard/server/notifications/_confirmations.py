"""Confirming subscriptions, as SNS does: an endpoint receives nothing until its owner says so.

Anyone who may subscribe could otherwise point the server's mail and webhooks at an address
they do not own. So a webhook or email subscription starts ``pending_confirmation``:

1. In the transaction that saves it, a ``subscription.confirmation_sent`` event is appended
   and one ``deliveries`` row of kind ``confirmation`` is queued for it. The deliverer sends it
   like any delivery (retried with backoff, in the delivery log) but renders the confirmation
   message instead of the event (:mod:`._formats`): the token, and the link
   ``<public URL>/api/v1/confirm-subscription?token=<token>``.
2. The fan-out queues no event for a pending subscription, so it is sent nothing else.
3. Following the link (``GET`` or ``POST``, no credentials: the token is the credential) makes
   it ``confirmed`` and appends ``subscription.confirmed``; it receives the events appended from
   then on. The token is single-use, expires after ``notify_confirm_ttl_s``, and is
   ``<subscription id>.<32 random bytes>``: unguessable, and naming the one row to compare it
   with (in constant time).
4. ``resend`` replaces the token (the old one stops working) and queues a new message.

An admin may vouch for an endpoint instead (``skip_confirmation``): it is confirmed at once and
``subscription.confirmed`` records who skipped. Subscriptions made before confirmations existed
were kept confirmed by migration 0024.

The token is kept in the row while pending (a retry must send it again, as the secret is kept
to sign); once used, only its SHA-256 stays, so using it again is told apart from a wrong one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from dockyard.api.notifications import Confirmation, SubscriptionState
from dockyard.errors import Conflict, NotFound
from dockyard.server.actor import Actor
from dockyard.server.events import EventLog
from dockyard.server.store import schema
from dockyard.settings import Settings

__all__ = ["CONFIRM_PATH", "confirm", "confirm_url", "queue_confirmation"]

#: The route a confirmation message links to (open without credentials).
CONFIRM_PATH = "/api/v1/confirm-subscription"
_S = schema.subscriptions
_D = schema.deliveries
_A = schema.delivery_attempts
_E = schema.events
_SCOPE = "notifications"
_MAX_TOKEN = 128
#: ``<subscription id>.<random>``: hex, then url-safe base64.
_TOKEN = re.compile(r"^[0-9a-f]{1,16}\.[A-Za-z0-9_-]{1,100}$", re.ASCII)
_PENDING = SubscriptionState.PENDING_CONFIRMATION.value
_CONFIRMED = SubscriptionState.CONFIRMED.value


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _drop_unsent(conn: Connection, sid: str) -> None:
    """Drop the subscription's confirmation messages not yet delivered (waiting, being sent,
    or to be retried), with their attempts: a newer token, or none, makes them pointless. One
    in flight still arrives, with its old token; its outcome is not recorded (the deliverer
    records only rows that are still there)."""
    unsent = select(_D.c.delivery_id).where(
        _D.c.subscription_id == sid,
        _D.c.kind == "confirmation",
        _D.c.status.in_(("pending", "sending")),
    )
    conn.execute(delete(_A).where(_A.c.delivery_id.in_(unsent)))
    conn.execute(delete(_D).where(_D.c.delivery_id.in_(unsent)))


def confirm_url(settings: Settings, token: str) -> str:
    """The link a confirmation message carries."""
    return f"{settings.resolved_public_url}{CONFIRM_PATH}?token={token}"


def queue_confirmation(
    conn: Connection,
    events: EventLog,
    settings: Settings,
    actor: Actor,
    sub: Any,
) -> Confirmation:
    """Give pending subscription ``sub`` (a row or a mapping) a new token and queue its
    confirmation message, in the caller's transaction; an earlier token stops working and an
    earlier message not yet sent is dropped (the new one carries the new token)."""
    m = sub if isinstance(sub, dict) else sub._mapping
    sid, name = m["subscription_id"], m["name"]
    now = _now_ms()
    token = f"{sid}.{secrets.token_urlsafe(32)}"
    expires = now + int(settings.notify_confirm_ttl_s * 1000)
    conn.execute(
        update(_S)
        .where(_S.c.subscription_id == sid)
        .values(confirm_token=token, confirm_expires_time=expires)
    )
    _drop_unsent(conn, sid)
    events.append(
        conn,
        actor,
        "subscription.confirmation_sent",
        "subscription",
        name,
        scope=_SCOPE,
        body={"expires_time": expires, "protocol": m["protocol"]},
    )
    event_id = int(conn.execute(select(func.max(_E.c.id))).scalar() or 0)
    conn.execute(
        insert(_D).values(
            subscription_id=sid,
            event_id=event_id,
            status="pending",
            attempts=0,
            next_attempt_time=now,
            # Sent no later than its token is taken: a message past that is no use.
            horizon_time=min(now + int(m["retry_horizon_s"] * 1000), expires),
            created_time=now,
            updated_time=now,
            kind="confirmation",
        )
    )
    return Confirmation(
        subscription_id=sid,
        name=name,
        state=SubscriptionState.PENDING_CONFIRMATION,
        expires_time=expires,
    )


def confirm(
    conn: Connection, events: EventLog, actor: Actor, token: str, pattern: str | None = None
) -> Confirmation:
    """Confirm the subscription ``token`` was sent to, in the caller's transaction; with
    ``pattern``, only a subscription to it (SNS's ``ConfirmSubscription`` names its topic).

    NotFound when no subscription waits for it (mistyped, replaced by a newer message, or its
    subscription deleted, or subscribed to another topic than ``pattern``); Conflict when it
    was used already or has expired.
    """
    sid, _, _ = token.partition(".")
    unknown = NotFound(
        "no subscription waits for this token: it is mistyped, a newer confirmation message "
        "replaced it, or its subscription was deleted",
        field="token",
    )
    # Anything else names no row (and a NUL byte would be an error on PostgreSQL).
    if len(token) > _MAX_TOKEN or not _TOKEN.match(token):
        raise unknown
    row = conn.execute(select(_S).where(_S.c.subscription_id == sid)).first()
    if row is None:
        raise unknown
    digest = _digest(token)
    if row.state == _CONFIRMED:
        if row.used_token_digest and hmac.compare_digest(digest, row.used_token_digest):
            raise Conflict(
                f"this token was used already: subscription {row.name} is confirmed",
                field="token",
                details={"reason": "used"},
            )
        raise unknown
    if row.confirm_token is None or not hmac.compare_digest(
        token.encode(), row.confirm_token.encode()
    ):
        raise unknown
    # Only the token's holder may learn which subscription it is for.
    if pattern is not None and pattern not in row.events.split(","):
        raise NotFound(
            f"this token is for subscription {row.name}, which is not subscribed to {pattern}",
            field="TopicArn",
        )
    now = _now_ms()
    if row.confirm_expires_time is not None and now > row.confirm_expires_time:
        when = datetime.fromtimestamp(row.confirm_expires_time / 1000, UTC)
        raise Conflict(
            f"this token expired at {when.isoformat(timespec='seconds')}: ask an admin to send "
            f"a new confirmation message (dockyard subscriptions resend {row.name})",
            field="token",
            details={"reason": "expired"},
        )
    changed = conn.execute(
        update(_S)
        .where(_S.c.subscription_id == sid, _S.c.state == _PENDING)
        .values(
            state=_CONFIRMED,
            confirm_token=None,
            confirm_expires_time=None,
            used_token_digest=digest,
            confirmed_time=now,
            confirmed_by="token",
            # Sent what is appended from now on, not what happened while it waited.
            after_event_id=int(conn.execute(select(func.max(_E.c.id))).scalar() or 0),
        )
    ).rowcount
    if not changed:  # confirmed by another request between the read and this write
        raise Conflict(
            f"this token was used already: subscription {row.name} is confirmed",
            field="token",
            details={"reason": "used"},
        )
    _drop_unsent(conn, sid)
    events.append(
        conn,
        actor,
        "subscription.confirmed",
        "subscription",
        row.name,
        scope=_SCOPE,
        body={"by": "token"},
    )
    return Confirmation(subscription_id=sid, name=row.name, state=SubscriptionState.CONFIRMED)
