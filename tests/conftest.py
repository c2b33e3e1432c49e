"""Shared fixtures. Real services (PostgreSQL, S3, a live server) come from tests/services/."""

from __future__ import annotations

import contextlib
import gc
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.client.http import Client
from dockyard.server import Services, create_app
from dockyard.server._inprocess import InProcessTransport
from dockyard.settings import Settings

pytest_plugins = [
    "tests.services.live_server",
    "tests.services.postgres",
    "tests.services.ray_cluster",
    "tests.services.cpu_report",
    "tests.services.s3",
    "tests.services.worker_groups",
]


@pytest.fixture(autouse=True, scope="module")
def _leaks_fail_their_own_module() -> Iterator[None]:
    """A socket or file a module's tests leave unclosed fails that module's last teardown (the
    ResourceWarning is an error), not whichever later test the garbage collector ran in."""
    yield
    gc.collect()


@pytest.fixture(autouse=True, scope="session")
def _default_home_is_private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Code that falls back to the default home (``Settings()`` with nothing set, as the SDK
    does when a test resets its context) works in a folder of this session, never in the
    machine's ``~/.dockyard``, whose database another Dockyard may have migrated further."""
    patch = pytest.MonkeyPatch()
    patch.setenv("DOCKYARD_HOME", str(tmp_path_factory.mktemp("default-home")))
    patch.delenv("DOCKYARD_URI", raising=False)
    yield
    patch.undo()


@pytest.fixture(autouse=True, scope="session")
def _no_process_outlives_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Endpoints' workers and jobs' runners outlive their server by design (a restart must not
    stop them), so a test that stops its server leaves them running. Whatever still names this
    session's folders when it ends, and is not this process's own child, is stopped, so a run
    leaves no processes behind."""
    yield
    import psutil

    from dockyard.client.sdk._local_server import _started

    # Local servers the SDK started (a CLI call with no DOCKYARD_URI) outlive it by design;
    # their homes are this session's, but only their environment says so.
    for server in _started:
        if server.poll() is None:
            server.terminate()
    for server in _started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(10)
    base = str(tmp_path_factory.getbasetemp())
    me = psutil.Process()
    mine = {me.pid, *(p.pid for p in me.parents())}
    left = []
    for proc in psutil.process_iter(["pid", "ppid", "cmdline", "cwd"]):
        try:
            cmdline = proc.info["cmdline"] or []
            # This process's own children belong to whoever holds their Popen objects.
            if proc.info["pid"] in mine or proc.info["ppid"] == me.pid:
                continue
            if any(base in part for part in cmdline) or (proc.info["cwd"] or "").startswith(base):
                proc.kill()
                left.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    psutil.wait_procs(left, timeout=10)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded-default settings in a fresh folder."""
    return Settings(home=tmp_path / "home", uri=None)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = Services.from_settings(settings)
    yield built
    built.close()


@pytest.fixture
def api(services: Services) -> Iterator[Client]:
    """A client of an in-process app over fresh services (the SDK's embedded path)."""
    transport = InProcessTransport(create_app(services=services))
    client = Client("http://dockyard.test", transport=transport, retry_for=0)
    yield client
    client.close()
    transport.close()
