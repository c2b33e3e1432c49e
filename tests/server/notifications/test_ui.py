"""The subscriptions page in a real browser: the list, a dead letter, replay, the delivery log."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.server.notifications._receiver import Receiver, until
from tests.services.server_process import ServerProcess
from tests.ui.conftest import CHROMIUM_ARGS, chromium_path

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"DOCKYARD_WEBHOOK_ALLOW_PRIVATE": "true", "DOCKYARD_NOTIFY_RETRY_BASE_S": "0.05"}
    process = ServerProcess(tmp_path / "home", env=env)
    process.start()
    yield process
    process.stop()


def _visible(page: Any, selector: str, timeout_s: float = 20) -> Any:
    # The page's Content-Security-Policy forbids eval (wait_for_function): poll instead.
    deadline = time.monotonic() + timeout_s
    while not page.is_visible(selector):
        assert time.monotonic() < deadline, f"{selector} did not appear"
        page.wait_for_timeout(50)
    return page.locator(selector)


@contextlib.contextmanager
def _subscriptions_page(server: ServerProcess, errors: list[str]) -> Iterator[Any]:
    """The Subscriptions page in a new browser; the page's script errors go to ``errors``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 800})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{server.url}/#/subscriptions")
        try:
            yield page
        finally:
            browser.close()


def test_dead_letters_replay_from_the_page(server: ServerProcess, receiver: Receiver) -> None:
    receiver.fail_first = 1_000_000
    with httpx.Client(base_url=server.url, timeout=10) as api:
        api.post("/api/v1/topics", json={"name": "ui"}).raise_for_status()
        api.post(
            "/api/v1/subscriptions",
            json={
                "events": ["topic.ui"],
                "endpoint": receiver.url,
                "name": "pager",
                "retry_horizon_s": 0.3,
                "skip_confirmation": True,
            },
        ).raise_for_status()
        api.post("/api/v1/topics/ui/publish", json={"message": "m"}).raise_for_status()
        until(lambda: api.get("/api/v1/subscriptions/pager").json()["dead"] == 1, what="dead")
    errors: list[str] = []
    with _subscriptions_page(server, errors) as page:
        _visible(page, "#subscriptions >> text=pager").click()
        _visible(page, "#log >> text=503")
        page.goto(f"{server.url}/#/subscriptions/pager?tab=dead")
        receiver.fail_first = len(receiver.requests)  # the receiver is back
        _visible(page, "#replay-all").click()
        until(receiver.ok, what="the replayed delivery")
        page.goto(f"{server.url}/#/subscriptions/pager?tab=log")
        until(lambda: page.reload() or page.is_visible("#log >> text=200"), what="logged 200")
    assert errors == []


def test_a_pending_subscription_shows_its_state_and_resends(
    server: ServerProcess, receiver: Receiver
) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as api:
        api.post(
            "/api/v1/subscriptions",
            json={"events": ["job.*"], "endpoint": receiver.url, "name": "waiting"},
        ).raise_for_status()
        api.post(
            "/api/v1/subscriptions",
            json={
                "events": ["job.*"],
                "endpoint": receiver.url,
                "name": "vouched",
                "skip_confirmation": True,
            },
        ).raise_for_status()
    until(receiver.ok, what="the first confirmation message")
    errors: list[str] = []
    with _subscriptions_page(server, errors) as page:
        _visible(page, '#subscriptions >> text="unconfirmed"')
        _visible(page, '#subscriptions >> text="confirmed"')  # the exact word: the other one
        page.goto(f"{server.url}/#/subscriptions/waiting")
        _visible(page, "#state >> text=a confirmation message was sent")
        _visible(page, "#resend").click()
        until(lambda: len(receiver.ok()) == 2, what="the confirmation sent again")
        page.goto(f"{server.url}/#/subscriptions/vouched")
        _visible(page, "#state >> text=confirmation skipped by")
        assert not page.is_visible("#resend")
    assert errors == []
    types = {r.headers["x-dockyard-message-type"] for r in receiver.ok()}
    assert types == {"SubscriptionConfirmation"}
