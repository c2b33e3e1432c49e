r"""New objects under a prefix: listed from a durable cursor, or told by S3 notifications.

Listing: the trigger's ``state`` keeps the greatest key seen. Each pass lists the prefix (the
artifact store abstraction: a local folder or an S3 prefix), takes the keys after the cursor,
and fires once for them, moving the cursor in the transaction that claims the firing; a
restart goes on from there. Keys are compared as strings, as S3 lists them.

Notifications: an S3 event-notification payload (``{"Records": [{"eventName":
"ObjectCreated:Put", "s3": {"bucket": {"name": ...}, "object": {"key": ...}}}]}``, as S3,
MinIO and Ceph send it) posted to the trigger's hook fires for the records under the prefix.

Through SNS (S3 -> SNS topic -> HTTPS subscription): SNS posts ``text/plain`` JSON envelopes
(``x-amz-sns-message-type``): a ``SubscriptionConfirmation`` first, whose ``SubscribeURL``
must be opened to confirm it (recorded by the service, not opened: the server makes no call
out on an unauthenticated party's word), then ``Notification``\ s whose ``Message`` is the S3
payload as a string (or S3's ``s3:TestEvent``, which fires nothing). SNS cannot add a header,
so it authenticates with HTTP Basic credentials in the subscription's URL
(``https://dockyard:<secret>@host/api/v1/hooks/triggers/<name>``), sent after a 401 that
names the Basic scheme. The envelope's signature (an AWS certificate) is not checked: the
secret is what authenticates.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

import orjson

from dockyard.artifacts import open_artifact_store
from dockyard.errors import InvalidArgument, Unauthenticated

__all__ = ["SnsEnvelope", "cause", "list_new", "read_notification", "read_sns", "verify"]

#: Objects one firing carries at most (the rest fire next pass).
MAX_OBJECTS = 100


def _base(prefix: str) -> str:
    return prefix.rstrip("/")


def list_new(prefix: str, after: str | None, *, s3_endpoint_url: str | None = None) -> list[str]:
    """Keys under ``prefix`` after ``after``, sorted, at most :data:`MAX_OBJECTS`."""
    store = open_artifact_store(_base(prefix), s3_endpoint_url=s3_endpoint_url)
    found = sorted(
        info.path
        for info in store.list("", recursive=True)
        if not info.is_dir and (after is None or info.path > after)
    )
    return found[:MAX_OBJECTS]


def uri_of(prefix: str, key: str) -> str:
    return f"{_base(prefix)}/{key}"


def verify(headers: Mapping[str, str], secret: str) -> None:
    """An object hook's secret: ``X-Dockyard-Trigger-Secret``, or the password of HTTP Basic
    credentials (how SNS sends what its subscription URL holds; any user name)."""
    sent = headers.get("x-dockyard-trigger-secret")
    if sent is None:
        kind, _, credential = headers.get("authorization", "").strip().partition(" ")
        if kind.lower() == "basic":
            try:
                sent = (
                    base64.b64decode(credential.strip(), validate=True).decode().partition(":")[2]
                )
            except (binascii.Error, UnicodeDecodeError):
                raise Unauthenticated("malformed basic credentials") from None
    if not sent:
        raise Unauthenticated(
            "send the trigger's secret in X-Dockyard-Trigger-Secret, or as the password of "
            "basic credentials (SNS: https://dockyard:<secret>@<host>/api/v1/hooks/triggers/...)"
        )
    if not secrets.compare_digest(sent.encode(), secret.encode()):
        raise Unauthenticated("the secret sent is not this trigger's secret")


#: SNS envelope types (``Type`` and the ``x-amz-sns-message-type`` header).
SNS_TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")


class SnsEnvelope(dict[str, Any]):
    """An SNS message as posted: ``Type``, ``TopicArn``, ``Message`` ... (see read_sns)."""


def read_sns(headers: Mapping[str, str], body: bytes) -> SnsEnvelope | None:
    """The SNS envelope of a posted body, or None when it is not one (a plain S3 payload)."""
    said = headers.get("x-amz-sns-message-type")
    if said is None and b'"Records"' in body[:200]:
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidArgument("the notification body is not JSON", field="body") from None
    if not isinstance(payload, dict) or payload.get("Type") not in SNS_TYPES:
        if said is not None:
            raise InvalidArgument(
                f"an SNS {said} message is a JSON object with its Type", field="Type"
            )
        return None
    for key in ("TopicArn", "Message"):
        if not isinstance(payload.get(key), str):
            raise InvalidArgument(f"an SNS message has a {key} string", field=key)
    if payload["Type"] == "SubscriptionConfirmation" and not str(
        payload.get("SubscribeURL", "")
    ).startswith("https://"):
        raise InvalidArgument(
            "an SNS subscription confirmation has an https SubscribeURL", field="SubscribeURL"
        )
    return SnsEnvelope(payload)


def is_test_event(message: str) -> bool:
    """S3's ``s3:TestEvent``, sent when notifications are set up: it names no object."""
    try:
        payload = orjson.loads(message)
    except orjson.JSONDecodeError:
        return False
    return isinstance(payload, dict) and payload.get("Event") == "s3:TestEvent"


def read_notification(prefix: str, body: bytes) -> list[dict[str, Any]]:
    """The created objects of an S3 event-notification payload that lie under ``prefix``."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidArgument("the notification body is not JSON", field="body") from None
    records = payload.get("Records") if isinstance(payload, dict) else None
    if not isinstance(records, list):
        raise InvalidArgument(
            "not an S3 event notification: a Records list is required", field="Records"
        )
    base = _base(prefix) + "/"
    found: list[dict[str, Any]] = []
    for i, record in enumerate(records[: MAX_OBJECTS * 10]):
        if not isinstance(record, dict) or not str(record.get("eventName", "")).startswith(
            "ObjectCreated"
        ):
            continue
        s3: Any = record.get("s3")
        try:
            bucket = str(s3["bucket"]["name"])
            key = unquote_plus(str(s3["object"]["key"]))  # URL-encoded in notifications
        except (TypeError, KeyError):
            raise InvalidArgument(
                "an S3 record names its bucket and object key", field=f"Records.{i}.s3"
            ) from None
        uri = f"s3://{bucket}/{key}"
        if not uri.startswith(base):
            continue
        found.append(
            {
                "uri": uri,
                "key": uri[len(base) :],
                "size": s3["object"].get("size"),
                "sequencer": str(s3["object"].get("sequencer") or s3["object"].get("eTag") or ""),
            }
        )
    return found[:MAX_OBJECTS]


def cause(prefix: str, found: list[dict[str, Any]]) -> dict[str, Any]:
    """The cause a firing on new objects ``found`` under ``prefix`` records."""
    return {
        "prefix": prefix,
        "uri": found[-1]["uri"],
        "key": found[-1]["key"],
        "count": len(found),
        "uris": [o["uri"] for o in found],
    }
