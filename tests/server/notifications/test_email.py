"""Email subscriptions: delivered over SMTP to a real (tiny, in-test) SMTP server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from tests.server.notifications._receiver import until
from tests.server.notifications.conftest import make_services

from dockyard.api.notifications import PublishRequest, SubscriptionConfig, TopicConfig
from dockyard.errors import InvalidArgument
from dockyard.server.actor import Actor

ADMIN = Actor.system("test")


class SMTPServer:
    """Just enough SMTP (RFC 5321) for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> SMTPServer:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sender, recipients = "", []
        writer.write(b"220 test ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250 test\r\n")
            elif verb == b"MAIL":
                sender = line.decode().split(":", 1)[1].strip()
                writer.write(b"250 OK\r\n")
            elif verb == b"RCPT":
                recipients.append(line.decode().split(":", 1)[1].strip())
                writer.write(b"250 OK\r\n")
            elif verb == b"DATA":
                writer.write(b"354 go on\r\n")
                await writer.drain()
                data = await reader.readuntil(b"\r\n.\r\n")
                self.messages.append((sender, recipients, data[: -len(b".\r\n")]))
                writer.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 OK\r\n")
            await writer.drain()
        writer.close()


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


def test_an_email_subscription_sends_over_smtp(tmp_path: Path, smtp: SMTPServer) -> None:
    services = make_services(
        tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_from="dockyard@test"
    )
    loops = services.start_notifications()
    try:
        notify = services.notifications
        notify.create_topic(ADMIN, TopicConfig(name="ops"))
        made = notify.create_subscription(
            ADMIN,
            SubscriptionConfig(
                skip_confirmation=True,
                events=["topic.ops"],
                protocol="email",
                endpoint="ops@team.test",
            ),
        )
        sent = notify.publish(ADMIN, "ops", PublishRequest(message="the disk is full"))
        until(lambda: smtp.messages, what="the email")
        sender, recipients, data = smtp.messages[0]
        assert sender == "<dockyard@test>" and recipients == ["<ops@team.test>"]
        mail = message_from_bytes(data)
        assert mail["Subject"] == "[Dockyard] topic.ops ops"
        assert mail["X-Dockyard-Event-Id"] == str(sent.event_id)
        assert "the disk is full" in mail.get_payload()
        until(lambda: notify.get_subscription(ADMIN, made.name).delivered == 1, what="recorded")
    finally:
        for loop in loops:
            loop.stop()
        services.close()


def test_an_email_address_is_checked(tmp_path: Path) -> None:
    services = make_services(tmp_path)
    try:
        with pytest.raises(InvalidArgument) as caught:
            services.notifications.create_subscription(
                ADMIN, SubscriptionConfig(events=["*"], protocol="email", endpoint="not an address")
            )
        assert caught.value.field == "endpoint"
    finally:
        services.close()


def test_an_email_subscription_needs_the_servers_smtp_settings(tmp_path: Path) -> None:
    services = make_services(tmp_path)  # no DOCKYARD_SMTP_HOST: every delivery would fail
    try:
        with pytest.raises(InvalidArgument) as caught:
            services.notifications.create_subscription(
                ADMIN, SubscriptionConfig(events=["*"], protocol="email", endpoint="ops@team.test")
            )
        assert caught.value.field == "protocol"
        assert "DOCKYARD_SMTP_HOST" in caught.value.message
    finally:
        services.close()


def test_a_failed_send_is_said_in_words_not_a_class_name(tmp_path: Path) -> None:
    import socket

    with socket.socket() as closed:  # a port nothing listens on once it is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    services = make_services(tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    loops = services.start_notifications()
    try:
        notify = services.notifications
        notify.create_topic(ADMIN, TopicConfig(name="ops"))
        made = notify.create_subscription(
            ADMIN,
            SubscriptionConfig(
                skip_confirmation=True,
                events=["topic.ops"],
                protocol="email",
                endpoint="ops@team.test",
            ),
        )
        notify.publish(ADMIN, "ops", PublishRequest(message="the disk is full"))
        (attempt, *_) = until(lambda: notify.attempts(ADMIN, made.name), what="an attempt")
        assert attempt.error == "connection refused"
    finally:
        for loop in loops:
            loop.stop()
        services.close()


@pytest.mark.parametrize(
    "endpoint",
    ["root,ops@team.test", "a<root>b@team.test", '"root"@team.test', "a;root@team.test"],
)
def test_an_email_address_is_one_mailbox(tmp_path: Path, endpoint: str) -> None:
    # The mail library reads each of these as another (or a second) recipient: a bare local
    # name such as "root" is a mailbox on the SMTP relay itself.
    services = make_services(tmp_path, smtp_host="127.0.0.1", smtp_port=25)
    try:
        with pytest.raises(InvalidArgument) as caught:
            services.notifications.create_subscription(
                ADMIN, SubscriptionConfig(events=["*"], protocol="email", endpoint=endpoint)
            )
        assert caught.value.field == "endpoint"
        assert "one email address" in caught.value.message
    finally:
        services.close()
