"""What a notification looks like on the wire, and how webhook bodies are signed.

Signing (every webhook, whatever its format)::

    X-Dockyard-Timestamp: <unix seconds>
    X-Dockyard-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
    X-Dockyard-Event-Id:  <event id>   (the same on every retry: de-duplicate on it)

The signed material is the timestamp's decimal digits, one ``.``, then the exact body bytes, so a
receiver verifies before parsing and can refuse old timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

__all__ = [
    "CONFIRMATION",
    "confirmation_body",
    "confirmation_email",
    "email_message",
    "render",
    "sign",
    "signed_headers",
]

#: The ``type`` of a confirmation message's body and its ``X-Dockyard-Message-Type`` (SNS's
#: name for it; every other message is a ``Notification``).
CONFIRMATION = "SubscriptionConfirmation"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` over ``timestamp.body`` with the subscription's secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(
    secret: str, timestamp: str, body: bytes, event_id: int, kind: str = "Notification"
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "Dockyard-Notifications",
        "X-Dockyard-Message-Type": kind,
        "X-Dockyard-Event-Id": str(event_id),
        "X-Dockyard-Timestamp": timestamp,
        "X-Dockyard-Signature": sign(secret, timestamp, body),
    }


def _summary(event: dict[str, Any]) -> str:
    body = event.get("body") or {}
    if event["type"].startswith("topic.") and "message" in body:
        message = body["message"]
        text = message if isinstance(message, str) else orjson.dumps(message).decode()
        return f"{event['resource_id']}: {text}"
    details = ", ".join(f"{k}={v}" for k, v in list(body.items())[:8])
    line = f"{event['type']} {event['resource_type']} {event['resource_id']} by {event['actor']}"
    return f"{line} ({details})" if details else line


def render(format: str, event: dict[str, Any], subscription_id: str) -> bytes:
    """The body for ``format``: ``json`` (the event), ``slack`` or ``teams`` (a message card)."""
    if format == "slack":
        text = _summary(event)
        payload: dict[str, Any] = {
            "text": text,
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{event['type']}*"}},
                {"type": "section", "text": {"type": "plain_text", "text": text[:2900]}},
            ],
            "dockyard_event_id": event["id"],
        }
    elif format == "teams":
        payload = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": event["type"],
            "title": f"Dockyard: {event['type']}",
            "text": _summary(event),
            "dockyard_event_id": event["id"],
        }
    else:
        payload = {"subscription_id": subscription_id, "event": event}
    return orjson.dumps(payload)


def email_message(event: dict[str, Any]) -> tuple[str, str]:
    """Subject and plain-text body of an email notification."""
    subject = f"[Dockyard] {event['type']} {event['resource_id']}"[:200]
    text = _summary(event) + "\n\n" + orjson.dumps(event, option=orjson.OPT_INDENT_2).decode()
    return subject, text


def _confirm_text(name: str, url: str, expires: str) -> str:
    return (
        f"You are asked to receive Dockyard notifications of subscription {name}. To confirm, "
        f"open {url} (or POST to it) before {expires}. Until then nothing else is sent here; "
        "if you did not ask for this, ignore it."
    )


def confirmation_body(format: str, confirmation: dict[str, Any]) -> bytes:
    """The body of a webhook's confirmation message: ``confirmation`` holds
    ``subscription_id``, ``subscription`` (its name), ``token``, ``confirm_url`` and
    ``expires_time`` (ms); for ``json``, it is sent as is with ``type`` and ``message``."""
    expires = _iso(confirmation["expires_time"])
    text = _confirm_text(confirmation["subscription"], confirmation["confirm_url"], expires)
    if format == "slack":
        payload: dict[str, Any] = {
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "plain_text", "text": text}}],
        }
    elif format == "teams":
        payload = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": "Confirm a Dockyard subscription",
            "title": "Dockyard: confirm a subscription",
            "text": text,
        }
    else:
        payload = {"type": CONFIRMATION, **confirmation, "message": text}
    return orjson.dumps(payload)


def confirmation_email(confirmation: dict[str, Any]) -> tuple[str, str]:
    """Subject and plain-text body of an email confirmation message."""
    name = confirmation["subscription"]
    subject = f"[Dockyard] Confirm subscription {name}"[:200]
    expires = _iso(confirmation["expires_time"])
    text = _confirm_text(name, confirmation["confirm_url"], expires)
    return subject, f"{text}\n\nToken: {confirmation['token']}\n"


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")
