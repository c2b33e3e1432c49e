"""The local executor: each job's runner a detached process on this machine.

Runners work in ``<work_root>/<job>/`` (``DOCKYARD_WORK_ROOT``, by default ``<home>/jobs``) and
keep their caches in ``<work_root>/.cache/``. A runner runs in its own session and process
group, so a server restart neither stops it nor loses it: the handle (pid, start time, where
its own output goes) lets the next scheduler find it again. Its own output (not the job's: that
goes to the API) is kept in ``<job>/.dockyard/runner.log`` for :meth:`LocalExecutor.logs`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from dockyard.jobs._executor import (
    Capacity,
    Handle,
    Launch,
    RunnerStatus,
    runner_command,
    runner_environment,
)
from dockyard.settings import Settings

__all__ = ["LocalExecutor"]


class LocalExecutor:
    """Runners as detached local processes.

    A handle is the pid plus the process's start time, so a pid reused by another program after
    a reboot is never mistaken for the runner.
    """

    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.work_root = settings.resolved_work_root
        self._cpus = float(settings.executor_cpus or os.cpu_count() or 1)
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def folder(self, job: str) -> Path:
        """The work folder of job ``job``."""
        return self.work_root / job

    def command(self, folder: Path) -> list[str]:
        """The runner's command line (a subclass may wrap it)."""
        return runner_command(sys.executable, folder)

    def submit(self, launch: Launch) -> Handle:
        if not self.work_root.exists():
            # Traversable, not listable: a job user reaches its own folder and nothing else.
            self.work_root.mkdir(mode=0o711, parents=True, exist_ok=True)
        folder = self.folder(launch["job"])
        # Private to the runner until it hands the working folders to the job.
        folder.mkdir(mode=0o700, exist_ok=True)
        control = folder / ".dockyard"
        control.mkdir(mode=0o700, exist_ok=True)
        # The runner gets the executor's environment (the store's credentials, PATH), never the
        # server's settings: what it needs of those it fetches from the API.
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
        env.update(runner_environment(launch, self.work_root / ".cache"))
        log_path = control / "runner.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                self.command(folder),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        self._children[proc.pid] = proc
        try:
            created = psutil.Process(proc.pid).create_time()
        except psutil.Error:
            created = 0.0
        return {"pid": proc.pid, "create_time": created, "log": str(log_path)}

    def status(self, handle: Handle) -> RunnerStatus:
        pid = int(handle["pid"])
        child = self._children.get(pid)
        if child is not None:
            code = child.poll()
            if code is None:
                return {"running": True, "exit_code": None, "detail": f"pid {pid}"}
            del self._children[pid]  # reaped: no zombie left behind
            return {"running": False, "exit_code": code, "detail": f"pid {pid} exited"}
        try:
            proc = psutil.Process(pid)
            created = handle.get("create_time")
            same = not created or abs(proc.create_time() - float(created)) <= 1
            if same and proc.status() != psutil.STATUS_ZOMBIE:
                return {"running": True, "exit_code": None, "detail": f"pid {pid}"}
        except psutil.Error:
            pass
        # Not our child (started before a server restart): its exit code is not ours to know.
        return {"running": False, "exit_code": None, "detail": f"pid {pid} is gone"}

    def logs(self, handle: Handle, limit: int = 4000) -> str:
        path = handle.get("log")
        if not path:
            return ""
        try:
            with Path(path).open("rb") as log:
                size = log.seek(0, os.SEEK_END)
                log.seek(max(0, size - limit))
                return log.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, handle: Handle) -> None:
        if self.status(handle)["running"]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(handle["pid"]), signal.SIGTERM)

    def capacity(self) -> Capacity:
        return {"cpus": self._cpus}
