"""``dockyard server`` believes X-Forwarded-For only from the proxies it is told of: otherwise any
local process could pick the address its failed sign-ins are throttled under and the one the
audit log records."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.services.server_process import ServerProcess

PASSWORD = "correct horse battery"


def _server(home: Path, env: dict[str, str | None]) -> Iterator[tuple[ServerProcess, str]]:
    create = ["users", "create", "root", "--role", "admin", "--password-stdin"]
    made = subprocess.run(
        [sys.executable, "-m", "dockyard", *create],
        input=PASSWORD + "\n",
        env={"PATH": "/usr/bin:/bin", "DOCKYARD_HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    server = ServerProcess(home, env=env)
    server.start()
    basic = base64.b64encode(f"root:{PASSWORD}".encode()).decode()
    made_token = httpx.post(
        f"{server.url}/api/v1/tokens",
        json={"name": "t"},
        headers={"Authorization": f"Basic {basic}"},
    )
    made_token.raise_for_status()
    yield server, made_token.json()["token"]  # read with later: the password may be throttled
    server.stop()


@pytest.fixture
def direct(tmp_path: Path) -> Iterator[tuple[ServerProcess, str]]:
    yield from _server(tmp_path / "home", {"DOCKYARD_TRUSTED_PROXIES": None})


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[ServerProcess, str]]:
    yield from _server(tmp_path / "home", {"DOCKYARD_TRUSTED_PROXIES": "127.0.0.1"})


def _guesses(url: str, count: int) -> list[int]:
    """Wrong passwords for root, each claiming to come from another address (changes, so that
    each refusal is in the audit log)."""
    statuses = []
    for i in range(count):
        basic = base64.b64encode(f"root:guess {i}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}", "X-Forwarded-For": f"203.0.113.{i + 1}"}
        made = httpx.post(f"{url}/api/v1/experiments", json={"name": "x"}, headers=headers)
        statuses.append(made.status_code)
    return statuses


def _sources(url: str, token: str) -> set[str]:
    found = httpx.get(
        f"{url}/api/v1/events",
        params={"type": "auth.denied", "limit": 100},
        headers={"Authorization": f"Bearer {token}"},
    )
    found.raise_for_status()
    return {event["source"] for event in found.json()["events"]}


def test_a_forged_forwarded_address_neither_escapes_throttling_nor_reaches_the_audit_log(
    direct: tuple[ServerProcess, str],
) -> None:
    server, token = direct
    assert _guesses(server.url, 12)[10:] == [429, 429]  # all from 127.0.0.1, whatever they say
    assert _sources(server.url, token) == {"127.0.0.1"}


def test_a_trusted_proxy_gives_each_client_its_own_address(
    proxied: tuple[ServerProcess, str],
) -> None:
    server, token = proxied
    assert _guesses(server.url, 12) == [401] * 12  # twelve clients, one guess each
    assert {f"203.0.113.{i}" for i in range(1, 13)} == _sources(server.url, token)
