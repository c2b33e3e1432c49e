"""Subscription confirmation, as SNS does it: a webhook or an email address receives its
confirmation message and nothing else until its owner follows the link; the link needs no
login but a single-use, expiring token. Over the app's one auth layer, with sign-in required,
a real deliverer and a real HTTP (and SMTP) receiver."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest
from sqlalchemy import select, update
from tests.server.notifications._receiver import Receiver, until
from tests.server.notifications.conftest import make_services
from tests.server.notifications.test_email import SMTPServer

from dockyard.api.notifications import SubscriptionConfig, SubscriptionState, TopicConfig
from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.server import create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.server._services import Services
from dockyard.server.actor import Actor
from dockyard.server.store import schema
from dockyard.settings import Settings

ADMIN = Actor.system("test")
HOST = "dockyard.test"
PUBLIC = "https://dockyard.example.com"
PASSWORD = "correct horse battery"
ALICE = httpx.BasicAuth("alice", PASSWORD)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[httpx.Client, Services]]:
    """The app over its auth layer with an admin (alice): sign-in is required; the
    notification loops run."""
    services = make_services(tmp_path, allowed_hosts=[HOST], public_url=PUBLIC + "/")
    loops = services.start_notifications()
    transport = InProcessTransport(create_app(services=services), local=False)
    with httpx.Client(transport=transport, base_url=f"http://{HOST}") as client:
        client.post(
            "/api/v1/users", json={"name": "alice", "role": "admin", "password": PASSWORD}
        ).raise_for_status()
        yield client, services
    for loop in loops:
        loop.stop()
    services.close()


def _types(receiver: Receiver) -> list[str]:
    with receiver.lock:
        return [r.headers["x-dockyard-message-type"] for r in receiver.requests]


def _token(services: Services, name: str) -> str:
    with services.db.read() as conn:
        token = conn.execute(
            select(schema.subscriptions.c.confirm_token).where(schema.subscriptions.c.name == name)
        ).scalar()
    assert token
    return str(token)


def test_a_webhook_gets_its_confirmation_alone_until_its_owner_confirms(
    served: tuple[httpx.Client, Services], receiver: Receiver
) -> None:
    client, _ = served
    client.post("/api/v1/topics", json={"name": "ops"}, auth=ALICE).raise_for_status()
    made = client.post(
        "/api/v1/subscriptions",
        json={"events": ["topic.ops"], "endpoint": receiver.url, "name": "hook"},
        auth=ALICE,
    )
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    assert made.json()["state"] == "pending_confirmation"
    before = client.post("/api/v1/topics/ops/publish", json={"message": "a"}, auth=ALICE)
    [got] = until(receiver.ok, what="the confirmation message")
    message = orjson.loads(got.body)
    assert got.headers["x-dockyard-message-type"] == "SubscriptionConfirmation"
    # Signed with the subscription's secret, as every webhook is
    signed = hmac.new(
        secret.encode(), got.headers["x-dockyard-timestamp"].encode() + b"." + got.body, "sha256"
    )
    assert got.headers["x-dockyard-signature"] == "sha256=" + signed.hexdigest()
    assert message["type"] == "SubscriptionConfirmation"
    assert message["subscription"] == "hook" and message["token"].startswith(
        made.json()["subscription_id"] + "."
    )
    link = urlsplit(message["confirm_url"])
    # The link reaches the server where its public URL says
    assert f"{link.scheme}://{link.netloc}" == PUBLIC
    assert link.path == "/api/v1/confirm-subscription"
    assert parse_qs(link.query) == {"token": [message["token"]]}
    assert message["confirm_url"] in message["message"]

    # Without credentials: the subscription is out of reach, the link is not
    assert client.get("/api/v1/subscriptions/hook").status_code == 401
    assert client.post("/api/v1/subscriptions/hook/resend").status_code == 401
    wrong = client.get(link.path, params={"token": message["token"] + "x"})
    assert wrong.status_code == 404 and wrong.json()["error"]["field"] == "token", wrong.text
    assert "no subscription waits for this token" in wrong.json()["error"]["message"]
    confirmed = client.get(f"{link.path}?{link.query}")
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "confirmed" and confirmed.json()["name"] == "hook"
    again = client.get(f"{link.path}?{link.query}")
    assert again.status_code == 409 and "was used already" in again.json()["error"]["message"]

    after = client.post("/api/v1/topics/ops/publish", json={"message": "b"}, auth=ALICE)
    until(lambda: len(receiver.ok()) == 2, what="the event published once confirmed")
    # What was published while it waited was never sent: events reach the fan-out in order,
    # so by the time the later one arrived the earlier one had been passed over.
    assert set(receiver.ids()) == {message_event_id(got), after.json()["event_id"]}
    assert before.json()["event_id"] not in receiver.ids()
    assert _types(receiver) == ["SubscriptionConfirmation", "Notification"]
    shown = client.get("/api/v1/subscriptions/hook", auth=ALICE).json()
    assert (shown["state"], shown["confirmed_by"]) == ("confirmed", "token")
    audit = client.get(
        "/api/v1/events", params={"resource_type": "subscription", "limit": 50}, auth=ALICE
    ).json()["events"]
    types = [e["type"] for e in audit]
    assert {
        "subscription.created",
        "subscription.confirmation_sent",
        "subscription.confirmed",
    } <= set(types)


def message_event_id(received: Any) -> int:
    return int(received.headers["x-dockyard-event-id"])


def test_a_confirmation_link_also_takes_a_post_and_nothing_else_opens(
    served: tuple[httpx.Client, Services],
) -> None:
    client, services = served
    made = client.post(
        "/api/v1/subscriptions",
        json={"events": ["job.*"], "endpoint": "https://hooks.example/x", "name": "posted"},
        auth=ALICE,
    ).json()
    assert client.get("/api/v1/subscriptions").status_code == 401
    assert client.post("/api/v1/confirm-subscription").status_code == 400  # names the token
    posted = client.post(
        "/api/v1/confirm-subscription", params={"token": _token(services, "posted")}
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["subscription_id"] == made["subscription_id"]


def test_an_expired_token_is_refused_and_a_new_message_replaces_it(tmp_path: Path) -> None:
    services = make_services(tmp_path)
    try:
        notify = services.notifications
        notify.create_subscription(
            ADMIN, SubscriptionConfig(events=["*"], endpoint="https://h.example/", name="late")
        )
        first = _token(services, "late")
        with services.db.write() as conn:
            conn.execute(update(schema.subscriptions).values(confirm_expires_time=1))
        with pytest.raises(Conflict) as expired:
            notify.confirm(Actor.anonymous("1.2.3.4"), first)
        assert "this token expired at 1970-01-01" in expired.value.message
        assert expired.value.field == "token" and expired.value.details == {"reason": "expired"}
        assert "dockyard subscriptions resend late" in expired.value.message

        sent = notify.resend_confirmation(ADMIN, "late")
        assert sent.state == SubscriptionState.PENDING_CONFIRMATION and sent.expires_time
        second = _token(services, "late")
        assert second != first
        with pytest.raises(NotFound):  # the old one no longer works, expired or not
            notify.confirm(Actor.anonymous("1.2.3.4"), first)
        # One message waits to be sent, with the new token: the earlier one was dropped
        queued = notify.deliveries(ADMIN, "late")
        assert [d.event_type for d in queued] == ["subscription.confirmation_sent"]
        assert notify.confirm(Actor.anonymous("1.2.3.4"), second).state == "confirmed"
        assert notify.deliveries(ADMIN, "late") == []
        with pytest.raises(Conflict) as done:
            notify.resend_confirmation(ADMIN, "late")
        assert "confirmed already" in done.value.message
    finally:
        services.close()


@pytest.mark.parametrize(
    "token", ["", "nodot", "abc.def", "x" * 300 + ".y", ".", "a.", "ab\x00.c", "ab.c d", "ab.é"]
)
def test_a_malformed_or_unknown_token_is_not_found(tmp_path: Path, token: str) -> None:
    services = make_services(tmp_path)
    try:
        with pytest.raises(NotFound) as caught:
            services.notifications.confirm(Actor.anonymous("1.2.3.4"), token)
        assert caught.value.field == "token"
    finally:
        services.close()


def test_an_admin_may_vouch_for_an_endpoint_on_the_record(tmp_path: Path) -> None:
    services = make_services(tmp_path)
    try:
        made = services.notifications.create_subscription(
            ADMIN,
            SubscriptionConfig(
                events=["*"], endpoint="https://h.example/", name="mine", skip_confirmation=True
            ),
        )
        assert made.state == "confirmed" and made.confirmed_by == ADMIN.label
        assert services.notifications.deliveries(ADMIN, "mine") == []  # no message to send
        with services.db.read() as conn:
            rows = conn.execute(
                select(schema.events.c.type, schema.events.c.body, schema.events.c.actor)
                .where(schema.events.c.resource_type == "subscription")
                .order_by(schema.events.c.id)
            ).all()
        assert [r.type for r in rows] == ["subscription.created", "subscription.confirmed"]
        assert orjson.loads(rows[1].body) == {"by": ADMIN.label, "skipped": True}
        assert rows[1].actor == ADMIN.label
    finally:
        services.close()


def test_an_email_subscription_is_mailed_its_link(tmp_path: Path, smtp: SMTPServer) -> None:
    services = make_services(
        tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, public_url=PUBLIC
    )
    loops = services.start_notifications()
    try:
        notify = services.notifications
        notify.create_topic(ADMIN, TopicConfig(name="ops"))
        notify.create_subscription(
            ADMIN,
            SubscriptionConfig(
                events=["topic.ops"], protocol="email", endpoint="ops@team.test", name="mail"
            ),
        )
        until(lambda: smtp.messages, what="the confirmation mail")
        [(_, recipients, data)] = smtp.messages
        mail = message_from_bytes(data)
        text = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
        token = _token(services, "mail")
        assert recipients == ["<ops@team.test>"]
        assert mail["Subject"] == "[Dockyard] Confirm subscription mail"
        assert f"{PUBLIC}/api/v1/confirm-subscription?token={token}" in text
        assert notify.confirm(Actor.anonymous("1.2.3.4"), token).state == "confirmed"
    finally:
        for loop in loops:
            loop.stop()
        services.close()


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    "value", ["dockyard.example.com", "ftp://x.example", "https://x.example/?a=1", "https://"]
)
def test_a_public_url_that_is_no_base_url_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        Settings(home=tmp_path, public_url=value)
    assert "public_url" in str(caught.value.to_dict())


def test_the_public_url_defaults_to_the_bound_address(tmp_path: Path) -> None:
    assert Settings(home=tmp_path, port=5999).resolved_public_url == "http://127.0.0.1:5999"
    given = Settings(home=tmp_path, public_url="https://d.example/base/")
    assert given.resolved_public_url == "https://d.example/base"


def test_a_confirmation_reaches_slack_as_text(tmp_path: Path) -> None:
    from dockyard.server.notifications._formats import confirmation_body

    body = orjson.loads(
        confirmation_body(
            "slack",
            {
                "subscription_id": "s",
                "subscription": "chan",
                "token": "s.t",
                "confirm_url": "https://d.example/api/v1/confirm-subscription?token=s.t",
                "expires_time": 0,
            },
        )
    )
    assert "https://d.example/api/v1/confirm-subscription?token=s.t" in body["text"]


def test_a_failing_confirmation_is_retried_and_a_resend_replaces_it(
    services: Services, receiver: Receiver
) -> None:
    receiver.fail_first = 1_000_000
    notify = services.notifications
    notify.create_subscription(
        ADMIN, SubscriptionConfig(events=["*"], endpoint=receiver.url, name="flaky")
    )
    # Retried like any delivery, each attempt in the delivery log
    until(lambda: len(notify.attempts(ADMIN, "flaky")) >= 2, what="a retried confirmation")
    [first] = notify.deliveries(ADMIN, "flaky")
    assert notify.attempts(ADMIN, "flaky")[0].status_code == 503
    notify.resend_confirmation(ADMIN, "flaky")  # the failing one goes, with its attempts
    receiver.fail_first = 0
    until(lambda: notify.get_subscription(ADMIN, "flaky").delivered == 1, what="the new one")
    [sent] = notify.deliveries(ADMIN, "flaky")
    assert sent.event_id != first.event_id  # a new subscription.confirmation_sent
    assert {a.event_id for a in notify.attempts(ADMIN, "flaky")} == {sent.event_id}
    # Every message the receiver got carried the token it had then; the last one, the current
    bodies = [orjson.loads(r.body) for r in receiver.requests]
    assert bodies[-1]["token"] == _token(services, "flaky")
