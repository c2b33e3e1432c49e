"""Password sign-ins cached by one server process follow changes made by another."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dockyard.server.auth._service as service_module
from dockyard.errors import Unauthenticated
from dockyard.server import Services
from dockyard.server.actor import Actor, Role
from dockyard.server.auth import CreateUser, UpdateUser
from dockyard.settings import Settings

ROOT = Actor.local("root")
ADDRESS = "10.0.0.7"


@pytest.fixture
def two_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Services, Services]]:
    """Two servers' services over one database, whose short-lived caches have always lapsed
    (the time another process's change may take to be seen here)."""
    monkeypatch.setattr(service_module, "_TOKEN_TTL_S", 0.0)
    settings = Settings(home=tmp_path / "h")
    first, second = Services.from_settings(settings), Services.from_settings(settings)
    first.auth.create_user(ROOT, CreateUser(name="root", role=Role.ADMIN))
    first.auth.create_user(ROOT, CreateUser(name="carl", password="carl-password-1"))
    yield first, second
    first.close()
    second.close()


def test_an_account_disabled_elsewhere_stops_signing_in_with_its_password(
    two_processes: tuple[Services, Services],
) -> None:
    first, second = two_processes
    assert second.auth.by_password("carl", "carl-password-1", ADDRESS).name == "carl"
    first.auth.update_user(ROOT, "carl", UpdateUser(disabled=True))
    with pytest.raises(Unauthenticated, match="disabled"):
        second.auth.by_password("carl", "carl-password-1", ADDRESS)


def test_a_password_changed_elsewhere_stops_the_old_one(
    two_processes: tuple[Services, Services],
) -> None:
    first, second = two_processes
    second.auth.by_password("carl", "carl-password-1", ADDRESS)
    first.auth.update_user(ROOT, "carl", UpdateUser(password="carl-password-2"))
    with pytest.raises(Unauthenticated, match="wrong user name or password"):
        second.auth.by_password("carl", "carl-password-1", ADDRESS)
    assert second.auth.by_password("carl", "carl-password-2", ADDRESS).name == "carl"


def test_a_role_changed_elsewhere_is_seen(two_processes: tuple[Services, Services]) -> None:
    first, second = two_processes
    assert second.auth.by_password("carl", "carl-password-1", ADDRESS).role is Role.MEMBER
    first.auth.update_user(ROOT, "carl", UpdateUser(role=Role.VIEWER))
    assert second.auth.by_password("carl", "carl-password-1", ADDRESS).role is Role.VIEWER


def test_an_unchanged_password_is_not_hashed_again(
    two_processes: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, second = two_processes
    checks: list[str] = []
    real = service_module.verify_password

    def counted(password: str, stored: str | None) -> bool:
        checks.append(password)
        return real(password, stored)

    monkeypatch.setattr(service_module, "verify_password", counted)
    for _ in range(3):
        assert second.auth.by_password("carl", "carl-password-1", ADDRESS).name == "carl"
    assert len(checks) == 1


@pytest.mark.parametrize("name", ["nobody", "robot"], ids=["no-such-account", "no-password"])
def test_a_name_without_a_password_costs_a_password_check(
    two_processes: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Refused at once, such a name would tell whoever times sign-ins that it is (or is not)
    an account: it is refused after one scrypt, as a wrong password is."""
    first, second = two_processes
    first.auth.create_user(ROOT, CreateUser(name="robot", password=None))
    hashes: list[int] = []
    real = hashlib.scrypt

    def counted(password: bytes, **options: Any) -> bytes:
        hashes.append(len(password))
        return real(password, **options)

    with pytest.raises(Unauthenticated):  # once, elsewhere: what is made once is made now
        second.auth.by_password("warm-up", "a-guessed-password", "10.0.0.8")
    monkeypatch.setattr(hashlib, "scrypt", counted)
    with pytest.raises(Unauthenticated) as refused:
        second.auth.by_password(name, "a-guessed-password", ADDRESS)
    assert refused.value.message == "wrong user name or password"
    with pytest.raises(Unauthenticated):
        second.auth.by_password("carl", "a-wrong-password", ADDRESS)
    assert hashes == [len("a-guessed-password"), len("a-wrong-password")]
