"""A local ``dockyard server`` the SDK starts itself when work needs one.

Tracking runs in-process, but jobs need a process that outlives a notebook cell and owns the
queue. With no ``DOCKYARD_URI`` set, the first job call starts ``dockyard server`` on a loopback
port over the same ``DOCKYARD_HOME`` (recorded in ``server.json``) and reuses it after. The port
is the last server's while it is free, so the runners of jobs that server ran, which retry its
address, reach the next one.
The server is started with the key in ``server.key`` (mode 0600; made at the first start),
which signs in as this machine's user, as the embedded default acts: once the home has
accounts, the SDK and CLI still reach their local server (:func:`local_key`).
A server started by other code (another checkout, an older or newer Dockyard, another Python)
is stopped and replaced: its answers would follow rules this SDK does not have. So is one over
another database or store, and one that lacks a pipeline function this process registers (or
imports them from another ``PYTHONPATH``): a script registering its own functions would
otherwise meet a server that knows only an earlier script's.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import httpx
import psutil

import dockyard
from dockyard.errors import InvalidArgument, Unavailable
from dockyard.settings import Settings

__all__ = ["Stopped", "ensure_server", "local_key", "stop_server"]

KEY_FILE = "server.key"

# Servers this process started. They outlive it by design; kept here so that their Popen objects
# are not collected while they run (which warns) and so that one that ended is reaped.
_started: list[subprocess.Popen[bytes]] = []


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_key(home: Path) -> str | None:
    """The key the local server over ``home`` was started with, if any: a bearer token that
    signs in as this machine's user."""
    try:
        return (home / KEY_FILE).read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def _key_file(home: Path) -> Path:
    """The key file for the server about to start: the last one's while it is fit (a client
    holding it, a notebook say, goes on after a restart), else a new one this user alone may
    read."""
    path = home / KEY_FILE
    from dockyard.server import read_local_key

    with contextlib.suppress(InvalidArgument):
        if read_local_key(path) is not None:
            return path
    fresh = home / f".{KEY_FILE}.{os.getpid()}"
    fresh.unlink(missing_ok=True)
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(secrets.token_urlsafe(32))
    return fresh.replace(path)


def _settings_env(settings: Settings) -> dict[str, str]:
    """The ``DOCKYARD_*`` variables a server started from here gets from ``settings``."""
    env = {"DOCKYARD_HOME": str(settings.home)}
    for name in ("database_url", "artifact_root", "s3_endpoint_url"):
        value = getattr(settings, name)
        if value:
            env[f"DOCKYARD_{name.upper()}"] = str(value)
    if settings.pipeline_functions:  # what this process's pipelines may call
        env["DOCKYARD_PIPELINE_FUNCTIONS"] = json.dumps(settings.pipeline_functions)
    return env


def _code(settings: Settings) -> dict[str, object]:
    """What a server started from here runs: this Dockyard, from this folder, on this Python,
    over this store, with these pipeline functions and import path."""
    return {
        "version": dockyard.__version__,
        "code": str(Path(dockyard.__file__).resolve().parent),
        "python": sys.executable,
        "store": _store_digest(settings),
        "functions": dict(settings.pipeline_functions or {}),
        "pythonpath": os.environ.get("PYTHONPATH", ""),
    }


def _store_digest(settings: Settings) -> str:
    """The store's settings as a digest: ``server.json`` is readable by whoever reads the home
    folder, and a database URL may carry its password."""
    store = [str(getattr(settings, name) or "") for name in _STORE]
    return hashlib.sha256(json.dumps(store).encode()).hexdigest()


_STORE = ("database_url", "artifact_root", "s3_endpoint_url")


def _serves(recorded: dict[str, object], settings: Settings) -> bool:
    """Whether the server ``recorded`` runs this code over this store and knows every pipeline
    function this process registers (a process registering none takes any server's)."""
    mine = _code(settings)
    if any(recorded.get(key) != mine[key] for key in ("version", "code", "python", "store")):
        return False
    functions = settings.pipeline_functions or {}
    if not functions:
        return True
    theirs = recorded.get("functions")
    return (
        isinstance(theirs, dict)
        and all(theirs.get(name) == target for name, target in functions.items())
        and recorded.get("pythonpath") == mine["pythonpath"]
    )


def _record(state: Path) -> dict[str, object] | None:
    """What ``server.json`` records, or None (no file, or a torn one)."""
    try:
        recorded = json.loads(state.read_text())
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def _reusable(state: Path, settings: Settings) -> str | None:
    """The recorded server's URL if it answers and serves this process (:func:`_serves`); a
    stale one is stopped."""
    recorded = _record(state)
    if recorded is None:
        return None
    url = str(recorded.get("url", ""))
    if not url or not _healthy(url):
        return None
    if _serves(recorded, settings):
        return url
    process = _recorded_server(recorded)
    if process is not None:
        with contextlib.suppress(psutil.Error):  # gone already
            process.terminate()
    return None


def ensure_server(settings: Settings, timeout: float = 60.0) -> str:
    """The URL of a running local server over ``settings.home``, starting one if needed."""
    _started[:] = [proc for proc in _started if proc.poll() is None]
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    state = home / "server.json"
    url = _reusable(state, settings) if state.exists() else None
    if url:
        return url
    with (home / "server.start.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        url = _reusable(state, settings) if state.exists() else None
        return url or _start(settings, state, timeout)


def _port(state: Path) -> int:
    """The port the last server over this home used, while it is free: jobs that server ran
    retry its address, and reach the new one there. Else any free port."""
    recorded = _record(state)
    port = str(recorded.get("url", "")).rpartition(":")[2] if recorded else ""
    if port.isdigit() and 1024 <= int(port) <= 65535:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            try:
                sock.bind(("127.0.0.1", int(port)))
            except OSError:
                pass  # taken: by another program, or the last server still going away
            else:
                return int(port)
    return _free_port()


def _start(settings: Settings, state: Path, timeout: float) -> str:
    port = _port(state)
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env.update(_settings_env(settings))
    env["DOCKYARD_LOCAL_KEY_FILE"] = str(_key_file(settings.home))
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
            started = psutil.Process(proc.pid).create_time()  # tells it from a later pid's
            record = {"url": url, "pid": proc.pid, "create_time": started, **_code(settings)}
            state.write_text(json.dumps(record))
            _started.append(proc)
            return url
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise Unavailable(f"the local Dockyard server did not answer within {timeout:.0f} s")


class Stopped(NamedTuple):
    """The server :func:`stop_server` stopped: its URL, and whether it had to be killed."""

    url: str
    killed: bool


def stop_server(
    home: Path, grace_s: float = 20.0, *, before: Callable[[], None] | None = None
) -> Stopped | None:
    """Stop the server the SDK started over ``home`` (recorded in ``server.json``): asked to
    finish (SIGTERM), its process group killed if it has not after ``grace_s``. None when none
    runs. A server being started meanwhile is waited for, then stopped. ``before`` runs once a
    running server is found, before it is signalled; what it raises refuses the stop.

    Only that server is signalled: the recorded pid must still be a ``dockyard server`` on the
    recorded port, started when the record says, not a program that got the pid since.
    """
    state = home / "server.json"
    starting = home / "server.start.lock"
    if not state.exists() and not starting.exists():
        return None
    with starting.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a start under way ends first; none begins meanwhile
        recorded = _record(state)
        if recorded is None:
            return None
        process = _recorded_server(recorded)
        killed = False
        if process is not None:
            if before is not None:
                before()
            with contextlib.suppress(psutil.Error):
                process.terminate()
                try:
                    process.wait(grace_s)
                except psutil.TimeoutExpired:
                    killed = True
                    with contextlib.suppress(OSError):
                        if os.getpgid(process.pid) == process.pid:  # its own session, as started
                            os.killpg(process.pid, signal.SIGKILL)
                        else:
                            process.kill()
                    process.wait(5)
        # Only the address stays: the next server starts there (see :func:`_port`).
        url = recorded.get("url")
        if isinstance(url, str):
            state.write_text(json.dumps({"url": url}))
        else:
            state.unlink()
    return Stopped(str(url), killed) if process is not None else None


def _recorded_server(recorded: dict[str, object]) -> psutil.Process | None:
    """The running process ``recorded`` describes, if it is still that server: a ``dockyard
    server`` on the recorded port, started when recorded (records before start times were kept
    have only the first two checks)."""
    pid = recorded.get("pid")
    port = str(recorded.get("url", "")).rpartition(":")[2]
    if not isinstance(pid, int) or pid <= 0 or not port.isdigit():
        return None
    try:
        process = psutil.Process(pid)
        started = recorded.get("create_time")
        if isinstance(started, (int, float)) and abs(process.create_time() - started) >= 1:
            return None
        line = process.cmdline()
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
    except psutil.Error:
        return None
    pairs = set(itertools.pairwise(line))
    return process if ("dockyard", "server") in pairs and ("--port", port) in pairs else None
