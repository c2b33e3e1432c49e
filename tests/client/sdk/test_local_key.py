"""The SDK's local server signs its owner in by a key in the home, as the embedded default acts
as them: once the home has accounts, the SDK and CLI still reach it, and nobody else does."""

from __future__ import annotations

import getpass
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dockyard.client.sdk import _local_server
from dockyard.errors import InvalidArgument
from dockyard.server._auth import read_local_key
from dockyard.settings import Settings

PASSWORD = "correct horse battery"
VENV_BIN = Path(sys.executable).parent


def _dockyard(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "dockyard"), *args],
        input=stdin,
        env={"PATH": f"{VENV_BIN}:/usr/bin:/bin", "DOCKYARD_HOME": str(home), "HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    made = _dockyard(
        home, "users", "create", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD
    )
    assert made.returncode == 0, made.stderr
    yield home
    _local_server.stop_server(home, 10)


def test_a_home_with_accounts_still_reaches_the_local_server_the_sdk_started(home: Path) -> None:
    url = _local_server.ensure_server(Settings(home=home))
    key = _local_server.local_key(home)
    assert key is not None and len(key) >= 32
    assert stat.S_IMODE((home / "server.key").stat().st_mode) == 0o600
    assert httpx.get(f"{url}/api/v1/jobs").status_code == 401  # sign-in is required now
    wrong = httpx.get(f"{url}/api/v1/jobs", headers={"Authorization": f"Bearer {key[:-1]}x"})
    assert wrong.status_code == 401
    signed = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{url}/api/v1/jobs", headers=signed).status_code == 200
    me = httpx.get(f"{url}/api/v1/whoami", headers=signed).json()
    assert me["name"] == f"local:{getpass.getuser()}"
    # The CLI's commands that need the server (no DOCKYARD_URI) send the key themselves.
    for command in (["jobs", "list"], ["endpoints", "list"], ["transform", "list"]):
        listed = _dockyard(home, *command, "--json")
        assert listed.returncode == 0, (command, listed.stderr)


def test_a_restarted_server_keeps_the_key_and_a_shared_one_is_replaced(home: Path) -> None:
    settings = Settings(home=home)
    url = _local_server.ensure_server(settings)
    first = _local_server.local_key(home)
    _local_server.stop_server(home, 10)
    assert _local_server.ensure_server(settings) == url
    # A client that holds the key (a notebook) goes on after the restart.
    assert _local_server.local_key(home) == first
    held = httpx.get(f"{url}/api/v1/jobs", headers={"Authorization": f"Bearer {first}"})
    assert held.status_code == 200
    _local_server.stop_server(home, 10)
    (home / "server.key").chmod(0o644)  # others could read it: no longer this user's alone
    _local_server.ensure_server(settings)
    second = _local_server.local_key(home)
    assert second is not None and second != first
    assert stat.S_IMODE((home / "server.key").stat().st_mode) == 0o600
    old = httpx.get(f"{url}/api/v1/jobs", headers={"Authorization": f"Bearer {first}"})
    assert old.status_code == 401


@pytest.mark.parametrize(
    ("mode", "text", "says"),
    [
        (0o644, "k" * 43, "must be this user's own and private (chmod 600)"),
        (0o600, "short", "holds no key: 32 to 4096 letters, digits, '-' or '_'"),
        (0o600, "k" * 40 + " spaced", "holds no key"),
    ],
)
def test_a_key_file_that_is_not_private_or_holds_no_key_is_refused(
    tmp_path: Path, mode: int, text: str, says: str
) -> None:
    path = tmp_path / "server.key"
    path.write_text(text)
    path.chmod(mode)
    with pytest.raises(InvalidArgument) as refused:
        read_local_key(path)
    assert says in refused.value.message
    assert refused.value.field == "local_key_file"


def test_a_fifo_for_a_key_file_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "server.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(InvalidArgument, match="is not a regular file"):
        read_local_key(fifo)


def test_a_missing_key_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"DOCKYARD_LOCAL_KEY_FILE '.*gone' cannot be read"):
        read_local_key(tmp_path / "gone")
