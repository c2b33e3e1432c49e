"""Executors run jobs. The interface is narrow (submit, alive, stop; status and logs come from
the job directory) so the local executor and a cluster executor are interchangeable."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

import psutil

__all__ = ["Executor", "LocalExecutor"]


class Executor(Protocol):
    """Starts runner processes and tells whether they still run."""

    name: str

    def submit(self, job_dir: Path, env: dict[str, str]) -> dict[str, Any]:
        """Start the runner of the job in ``job_dir``; returns a JSON-able handle."""
        ...

    def alive(self, handle: dict[str, Any]) -> bool:
        """Whether the runner behind ``handle`` is still running."""
        ...

    def stop(self, handle: dict[str, Any]) -> None:
        """Ask the runner to stop its job (it escalates to SIGKILL after the grace period)."""
        ...


class LocalExecutor:
    """Runners as detached local processes, each in its own session and process group.

    A handle is the pid plus the process's start time, so a pid reused by another program after
    a reboot is never mistaken for the runner.
    """

    name = "local"

    def __init__(self) -> None:
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def submit(self, job_dir: Path, env: dict[str, str]) -> dict[str, Any]:
        control = job_dir / ".dockyard"
        control.mkdir(parents=True, exist_ok=True)
        with (control / "runner.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dockyard.jobs._runner", str(job_dir)],
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
        return {"pid": proc.pid, "create_time": created}

    def alive(self, handle: dict[str, Any]) -> bool:
        pid = int(handle["pid"])
        child = self._children.get(pid)
        if child is not None and child.poll() is not None:
            del self._children[pid]  # reaped: no zombie left behind
            return False
        try:
            proc = psutil.Process(pid)
            if handle.get("create_time") and abs(proc.create_time() - handle["create_time"]) > 1:
                return False
            return proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def stop(self, handle: dict[str, Any]) -> None:
        if self.alive(handle):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(handle["pid"]), signal.SIGTERM)
