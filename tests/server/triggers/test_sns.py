"""S3 notifications delivered through SNS: text/plain envelopes, Basic credentials after a
challenge, the subscription confirmation recorded, S3's test event ignored."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from tests.server.triggers.conftest import ROOT, make_services, training

from dockyard.server import create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.server._services import Services

SECRET = "sns-delivered-secret-1"
TOPIC = "arn:aws:sns:us-west-2:123456789012:lake-events"
HOOK = "/api/v1/hooks/triggers/lake"
CERT = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem"


def _sns_headers(kind: str, basic: str | None = None) -> dict[str, str]:
    """The headers SNS sends (its documented HTTP/HTTPS request), Basic credentials if any."""
    headers = {
        "x-amz-sns-message-type": kind,
        "x-amz-sns-message-id": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "x-amz-sns-topic-arn": TOPIC,
        "Content-Type": "text/plain; charset=UTF-8",
        "User-Agent": "Amazon Simple Notification Service Agent",
    }
    if basic is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
    return headers


def _confirmation() -> bytes:
    token = "2336412f37fb687f5d51e6e2425dacbbab4d6e1fd5cce3a2b2e44c8bf0a4e6b4"
    return orjson.dumps(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": token,
            "TopicArn": TOPIC,
            "Message": f"You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the "
            "subscription, visit the SubscribeURL included in this message.",
            "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription"
            f"&TopicArn={TOPIC}&Token={token}",
            "Timestamp": "2026-12-04T20:45:04.751Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQ",
            "SigningCertURL": CERT,
        }
    )


def _notification(message: dict[str, object]) -> bytes:
    return orjson.dumps(
        {
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": TOPIC,
            "Subject": "Amazon S3 Notification",
            "Message": orjson.dumps(message).decode(),  # the S3 payload, as a string
            "Timestamp": "2026-12-04T21:00:06.655Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLEw6JRNwm1LFQL4ICB0bnXrdB8ClRMTQFGBqwLpGbM78tJ4etTwC5zU7O3tS6tGpey",
            "SigningCertURL": CERT,
            "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe"
            f"&SubscriptionArn={TOPIC}:c9135db0-26c4-47ec-8998-413945fb5a96",
        }
    )


def _s3_event(key: str) -> dict[str, object]:
    """An S3 event notification record, version 2.1, as S3 sends it."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-west-2",
                "eventTime": "2026-12-04T21:00:05.123Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAJDPLRKLG7UEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "203.0.113.7"},
                "responseElements": {
                    "x-amz-request-id": "C3D13FE58DE4C810",
                    "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANO",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "new-raw-data",
                    "bucket": {
                        "name": "lake",
                        "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                        "arn": "arn:aws:s3:::lake",
                    },
                    "object": {
                        "key": key,
                        "size": 1024,
                        "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                        "sequencer": "0055AED6DCD90281E5",
                    },
                },
            }
        ]
    }


@pytest.fixture
def s3_services(tmp_path: Path, data: Path) -> Iterator[Services]:
    made = make_services(tmp_path / "s3home", data, "s3://lake/raw")
    yield made
    made.close()


@pytest.fixture
def s3_client(s3_services: Services, data: Path) -> Iterator[httpx.Client]:
    transport = InProcessTransport(create_app(services=s3_services), local=False)
    with httpx.Client(transport=transport, base_url="http://localhost") as client:
        made = client.post(
            "/api/v1/triggers",
            json={
                "name": "lake",
                "objects": {"prefix": "s3://lake/raw", "poll": False},
                "target": training(data, tags={"object": "{{trigger.uri}}"}),
                "secret": SECRET,
            },
        )
        assert made.status_code == 201, made.text
        yield client
    transport.close()


def test_sns_is_challenged_then_its_confirmation_is_recorded(
    s3_client: httpx.Client, s3_services: Services
) -> None:
    first = s3_client.post(HOOK, content=_confirmation(), headers=_sns_headers("x"))
    assert first.status_code == 401  # SNS sends the URL's credentials only when asked
    assert first.headers["www-authenticate"].startswith("Basic ")
    wrong = _sns_headers("SubscriptionConfirmation", basic="dockyard:not-the-secret")
    assert s3_client.post(HOOK, content=_confirmation(), headers=wrong).status_code == 401
    headers = _sns_headers("SubscriptionConfirmation", basic=f"dockyard:{SECRET}")
    # Disabled, it fires nothing, but a subscription set up meanwhile is still recorded.
    assert s3_client.patch("/api/v1/triggers/lake", json={"enabled": False}).status_code == 200
    answer = s3_client.post(HOOK, content=_confirmation(), headers=headers)
    assert answer.status_code == 200, answer.text
    assert "SubscribeURL" in answer.json()["ignored"] and answer.json()["fired"] is None
    (event,) = s3_services.events.read(types=["trigger.sns_subscription"])
    assert event.resource_id == "lake" and event.body["topic_arn"] == TOPIC
    owner = s3_client.get("/api/v1/triggers/lake").json()["created_by"]
    assert event.actor == owner  # theirs to read and act on
    assert event.body["subscribe_url"].startswith(
        "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription"
    )
    assert s3_services.triggers.history(ROOT, "lake") == []


def test_an_s3_notification_through_sns_fires_once(
    s3_client: httpx.Client, s3_services: Services
) -> None:
    headers = _sns_headers("Notification", basic=f"dockyard:{SECRET}")
    s3_client.patch("/api/v1/triggers/lake", json={"enabled": False})
    body = _notification(_s3_event("raw/2026-12-04/part-0.csv"))
    off = s3_client.post(HOOK, content=body, headers=headers)
    assert off.status_code == 200 and off.json()["ignored"] == "the trigger is disabled"
    s3_client.patch("/api/v1/triggers/lake", json={"enabled": True})
    test_event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-12-04T20:59:00.000Z",
        "Bucket": "lake",
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }
    ignored = s3_client.post(HOOK, content=_notification(test_event), headers=headers)
    assert ignored.status_code == 200 and "test event" in ignored.json()["ignored"]
    answer = s3_client.post(HOOK, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    fired = answer.json()["fired"]
    assert fired["cause"]["uri"] == "s3://lake/raw/2026-12-04/part-0.csv"
    job = s3_services.jobs.get(ROOT, fired["job"])
    assert job.spec["tags"]["object"] == "s3://lake/raw/2026-12-04/part-0.csv"
    again = s3_client.post(HOOK, content=body, headers=headers)  # SNS retries a delivery
    assert again.json()["fired"]["firing_id"] == fired["firing_id"]
    elsewhere = _notification(_s3_event("other/x.csv"))
    assert s3_client.post(HOOK, content=elsewhere, headers=headers).json()["fired"] is None
    unsubscribed = {**orjson.loads(_confirmation()), "Type": "UnsubscribeConfirmation"}
    quiet = s3_client.post(
        HOOK,
        content=orjson.dumps(unsubscribed),
        headers=_sns_headers("UnsubscribeConfirmation", basic=f"dockyard:{SECRET}"),
    )
    assert quiet.status_code == 200 and quiet.json()["fired"] is None
    broken = s3_client.post(HOOK, content=b'{"Type": "Notification"}', headers=headers)
    assert broken.status_code == 400 and broken.json()["error"]["field"] == "TopicArn"
    assert len(s3_services.triggers.history(ROOT, "lake")) == 1


def test_text_plain_stays_refused_off_the_hooks(s3_client: httpx.Client) -> None:
    body = b'{"name": "x", "schedule": {"cron": "@daily"}, "target": {"spec": {}}}'
    plain = {"Content-Type": "text/plain"}
    assert s3_client.post("/api/v1/triggers", content=body, headers=plain).status_code == 415
    assert (
        s3_client.post("/api/v1/triggers/lake/fire", content=b"{}", headers=plain).status_code
        == 415
    )
