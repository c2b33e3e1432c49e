"""A local ``dockyard server`` the SDK starts itself when work needs one.

Tracking runs in-process, but jobs need a process that outlives a notebook cell and owns the
queue. With no ``DOCKYARD_URI`` set, the first job call starts ``dockyard server`` on a free
loopback port over the same ``DOCKYARD_HOME`` (recorded in ``server.json``) and reuses it after.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from dockyard.errors import Unavailable
from dockyard.settings import Settings

__all__ = ["ensure_server"]


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_server(settings: Settings, timeout: float = 60.0) -> str:
    """The URL of a running local server over ``settings.home``, starting one if needed."""
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    state = home / "server.json"
    if state.exists():
        url = json.loads(state.read_text()).get("url", "")
        if url and _healthy(url):
            return str(url)
    with (home / "server.start.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if state.exists():
            url = json.loads(state.read_text()).get("url", "")
            if url and _healthy(url):
                return str(url)
        return _start(settings, state, timeout)


def _start(settings: Settings, state: Path, timeout: float) -> str:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env["DOCKYARD_HOME"] = str(settings.home)
    for name in ("database_url", "artifact_root", "s3_endpoint_url"):
        value = getattr(settings, name)
        if value:
            env[f"DOCKYARD_{name.upper()}"] = str(value)
    with (settings.home / "server.log").open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dockyard",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Unavailable(
                f"the local Dockyard server exited at start; see {settings.home / 'server.log'}"
            )
        if _healthy(url):
            state.write_text(json.dumps({"url": url, "pid": proc.pid}))
            return url
        time.sleep(0.1)
    proc.terminate()
    raise Unavailable(f"the local Dockyard server did not answer within {timeout:.0f} s")
