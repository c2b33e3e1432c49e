"""The HTTP API and the SDK over the embedded default: validation names the field, secrets are
shown once, publishing appends a ``topic.<name>`` event."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dockyard as dy
from dockyard.client.sdk import context, reset_context
from dockyard.settings import Settings

HOOK = "https://hooks.example/dy"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    reset_context(Settings(home=tmp_path / "home"))
    yield tmp_path / "home"
    reset_context()


def _status(method: str, path: str, **kw: Any) -> tuple[int, Any]:
    try:
        return 200, context().client.request(method, path, **kw)
    except dy.DockyardError as exc:
        return exc.status_code, exc


def test_publish_and_subscribe_from_the_sdk(home: Path) -> None:
    topic = dy.create_topic("alerts", "on-call pages")
    assert topic.events == "topic.alerts"
    made = dy.subscribe(["topic.alerts"], HOOK, filter={"severity": ["high"]}, name="pager")
    assert len(made.secret) >= 32  # generated
    sent = dy.publish("alerts", {"disk": "full"}, {"severity": "high", "score": 0.9})
    assert sent.type == "topic.alerts"
    events = context().client.request("GET", "/api/v1/events", params={"type": "topic.alerts"})
    [event] = events["events"]
    assert event["id"] == sent.event_id
    assert event["body"] == {
        "message": {"disk": "full"},
        "attributes": {"severity": "high", "score": 0.9},
    }
    [listed] = dy.list_subscriptions()
    assert listed.name == "pager" and "secret" not in listed.model_dump()
    assert listed.state == "pending_confirmation" and listed.confirmation_expires_time
    described = context().client.request("GET", "/api/v1/subscriptions/pager")
    assert "secret" not in described and "confirm_token" not in str(described)
    # Its confirmation message, and not the event published while it waits
    [queued] = dy.list_deliveries("pager")
    assert queued.event_type == "subscription.confirmation_sent"
    assert dy.replay_deliveries("pager") == 0
    dy.delete_subscription("pager")
    assert dy.list_subscriptions() == []
    types = {
        e["type"]
        for e in context().client.request("GET", "/api/v1/events", params={"limit": 100})["events"]
    }
    assert {"topics.created", "subscription.created", "subscription.deleted"} <= types


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": ["job.*"], "endpoint": "file:///etc/passwd"}, "endpoint"),
        ({"events": ["job.*"], "endpoint": "http://169.254.169.254/latest"}, "endpoint"),
        ({"events": ["job.*"], "endpoint": "http://[::1]:80/"}, "endpoint"),
        ({"events": ["job.*"], "endpoint": "https://exa mple.com/hook"}, "endpoint"),
        (
            {"events": ["job.*"], "endpoint": HOOK, "filter": {"a": [{"numeric": ["<"]}]}},
            "filter.a",
        ),
        ({"events": ["bad pattern!"], "endpoint": HOOK}, "events"),
        ({"events": ["job.*"], "endpoint": HOOK, "format": "xml"}, "format"),
        ({"events": ["job.*"], "endpoint": HOOK, "secret": "short"}, "secret"),
        ({"events": ["job.*"], "endpoint": HOOK, "name": "no spaces"}, "name"),
    ],
)
def test_bad_subscriptions_get_400_naming_the_field(
    home: Path, body: dict[str, Any], field: str
) -> None:
    status, error = _status("POST", "/api/v1/subscriptions", json=body)
    assert status == 400, error
    assert error.field == field, error.to_dict()


def test_topic_errors(home: Path) -> None:
    dy.create_topic("t")
    status, error = _status("POST", "/api/v1/topics", json={"name": "t"})
    assert status == 409 and error.field == "name"
    status, error = _status("POST", "/api/v1/topics", json={"name": "job"})
    assert status == 409 and "built-in" in error.message
    status, error = _status("POST", "/api/v1/topics/t/publish", json={"message": "x" * 5000})
    assert status == 400 and error.field == "message"
    status, error = _status("POST", "/api/v1/topics/t/publish", json={"message": 5})
    assert status == 400 and error.field == "message"
    assert error.message == "message: a message is text or a JSON object, not int"
    for empty in ("", {}):
        status, error = _status("POST", "/api/v1/topics/t/publish", json={"message": empty})
        assert status == 400 and error.message == "message: a message is not empty"
    # Within 3000 bytes, but twice that as JSON: the event would carry a stump of it
    status, error = _status("POST", "/api/v1/topics/t/publish", json={"message": '"' * 3000})
    assert status == 400 and error.field == "message", error
    assert "at most 4096" in error.message
    big = {"message": "x" * 2999, "attributes": {"note": "y" * 2000}}
    status, error = _status("POST", "/api/v1/topics/t/publish", json=big)
    assert status == 400 and error.field == "attributes", error
    status, error = _status("POST", "/api/v1/topics/missing/publish", json={"message": "x"})
    assert status == 404 and error.field == "topic"
    # Python's JSON parser reads NaN and Infinity; an attribute is a finite number or refused
    for number in (b"NaN", b"Infinity", b"-Infinity"):
        status, error = _status(
            "POST",
            "/api/v1/topics/t/publish",
            content=b'{"message": "x", "attributes": {"score": ' + number + b"}}",
            headers={"content-type": "application/json"},
        )
        assert status == 400 and error.field == "attributes", error
        assert "'score'" in error.message and "finite" in error.message
    status, error = _status("GET", "/api/v1/subscriptions/nope/deliveries")
    assert status == 404 and error.field == "subscription"


def test_deleting_a_topic_takes_the_subscriptions_that_named_only_it(home: Path) -> None:
    dy.create_topic("alerts")
    only = dy.subscribe(["topic.alerts"], HOOK, name="only-alerts")
    mixed = dy.subscribe(["topic.alerts", "job.*"], HOOK, name="alerts-and-jobs")
    wildcard = dy.subscribe(["topic.*"], HOOK, name="every-topic")
    status, _ = _status("DELETE", "/api/v1/topics/alerts")
    assert status == 200
    names = {s.name: s for s in dy.list_subscriptions()}
    assert only.name not in names
    assert names[mixed.name].events == ["job.*"]
    assert names[wildcard.name].events == ["topic.*"]
    status, error = _status("GET", f"/api/v1/subscriptions/{only.subscription_id}")
    assert status == 404, error
    events = context().client.request("GET", "/api/v1/events", params={"limit": 100})["events"]
    deleted = [e for e in events if e["type"] == "subscription.deleted"]
    assert [e["resource_id"] for e in deleted] == [only.name]
    # A topic made again with the same name starts with no subscribers left over.
    dy.create_topic("alerts")
    assert {s.name for s in dy.list_subscriptions()} == {mixed.name, wildcard.name}
