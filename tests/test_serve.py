"""``dockyard server --workers``: a supervisor killed outright takes its workers with it."""

from __future__ import annotations

from pathlib import Path

import httpx
import psutil

from tests.services.server_process import ServerProcess


def _workers(server: ServerProcess) -> list[psutil.Process]:
    children = psutil.Process(server.pid).children()
    return [p for p in children if "spawn_main" in " ".join(p.cmdline())]


def test_workers_of_a_killed_server_stop_and_the_server_restarts_on_its_port(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path / "home", env={"DOCKYARD_WORKERS": "2"})
    server.start()
    try:
        workers = _workers(server)
        assert len(workers) == 2
        server.kill()  # the supervisor only, as the OOM killer or kill -9 would
        # Orphans would go on serving the inherited socket and holding the loops' lead.
        _, alive = psutil.wait_procs(workers, timeout=30)
        assert not alive, f"workers {[p.pid for p in alive]} outlived their server"
        server.start()
        assert len(_workers(server)) == 2  # the new server bound the port and serves it
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.stop()
        for worker in workers:
            if worker.is_running():
                worker.kill()
