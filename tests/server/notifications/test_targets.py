"""The SSRF guard: internal addresses are refused when a subscription is saved and again when a
connection opens, after DNS resolution, unless DOCKYARD_WEBHOOK_ALLOW_PRIVATE is set."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.server.notifications._receiver import Receiver, until
from tests.server.notifications.conftest import make_services

from dockyard.api.notifications import PublishRequest, SubscriptionConfig, TopicConfig
from dockyard.errors import InvalidArgument
from dockyard.server.actor import Actor
from dockyard.server.notifications import Deliverer, FanOut
from dockyard.server.notifications._targets import check_url

ADMIN = Actor.system("test")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost./x",
        "http://api.localhost/x",
        "http://10.0.0.1/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[fd00::1]/x",
        "http://0.0.0.0/x",
        # Shared address space (RFC 6598): Alibaba Cloud's metadata service, CGNAT overlays.
        "http://100.100.100.200/latest/meta-data",
        "http://100.64.0.1/x",
        "http://[::ffff:100.100.100.200]/x",
        # Not global, though Python 3.11 says so: IETF protocol assignments, and IPv6 that
        # carries an internal IPv4 address to a gateway (6to4, NAT64, Teredo).
        "http://192.0.0.8/x",
        "http://[2002:7f00:1::1]/x",
        "http://[2002:a00:1::]/x",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
        "http://[64:ff9b::10.0.0.1]/x",
        "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/x",
    ],
)
def test_internal_literals_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_url(url, allow_private=False)
    assert caught.value.field == "endpoint"
    assert check_url(url, allow_private=True) == url


@pytest.mark.parametrize("url", ["ftp://a.example/x", "file:///etc/passwd", "http:///x", "x"])
def test_only_http_urls_with_a_host(url: str) -> None:
    with pytest.raises(InvalidArgument):
        check_url(url, allow_private=True)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://exa mple.com/hook", "'exa mple.com' is not a host name or address"),
        ("http://hooks..example.com/x", "'hooks..example.com' is not a host name or address"),
        ("http://-hooks.example.com/x", "'-hooks.example.com' is not a host name or address"),
        ("http://hooks.example.com/x\x00", "holds a control character"),
    ],
)
def test_a_url_no_request_could_reach_is_refused_when_saved(url: str, problem: str) -> None:
    # Saved, it would fail every attempt for a day before anyone heard of it.
    with pytest.raises(InvalidArgument) as caught:
        check_url(url, allow_private=True)
    assert problem in caught.value.message
    assert caught.value.field == "endpoint"


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T0/B0/x?a=1#f",
        "http://dockyard:secret@hooks.example.com:8080/x",
        "http://bücher.example/x",
        "http://hooks.example.com./x",
        "http://hooks.example.com/a b",
        "http://hooks_1.example.com/x",
    ],
)
def test_ordinary_urls_are_kept(url: str) -> None:
    assert check_url(url, allow_private=False) == url


def test_a_send_to_a_name_that_resolves_inside_is_refused(
    tmp_path: Path, receiver: Receiver
) -> None:
    # Saved while the guard was off (or through a name that resolved elsewhere then): the
    # deliverer of a server with the guard on refuses it at send time.
    services = make_services(tmp_path)
    strict = services.settings.model_copy(update={"webhook_allow_private": False})
    deliverer = Deliverer(services.db, tmp_path, strict, services.events)
    fanout = FanOut(services.db, tmp_path, services.events)
    deliverer.start()
    fanout.start()
    try:
        notify = services.notifications
        notify.create_topic(ADMIN, TopicConfig(name="t"))
        url = receiver.url.replace("127.0.0.1", "localhost")
        made = notify.create_subscription(
            ADMIN, SubscriptionConfig(skip_confirmation=True, events=["topic.t"], endpoint=url)
        )
        notify.publish(ADMIN, "t", PublishRequest(message="m"))
        attempts = until(lambda: notify.attempts(ADMIN, made.name), what="a refused attempt")
        assert attempts[0].status_code is None
        assert "resolves to" in (attempts[0].error or "")
        assert receiver.requests == []
    finally:
        fanout.stop()
        deliverer.stop()
        services.close()
