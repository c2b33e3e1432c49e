"""The local executor: each job's runner a detached process on this machine.

Runners work in ``<work_root>/<job>/`` (``DOCKYARD_WORK_ROOT``, by default ``<home>/jobs``) and
keep their caches in ``<work_root>/.cache/``. A runner runs in its own session and process
group, so a server restart neither stops it nor loses it: the handle (pid, start time, where
its own output goes) lets the next scheduler find it again. Its own output (not the job's: that
goes to the API) is kept in ``<job>/.dockyard/runner.log`` for :meth:`LocalExecutor.logs`.

Runners are forked from a warm process that has already imported them
(:mod:`dockyard.runtime.runner._zygote`, ``DOCKYARD_EXECUTOR_WARM``), which saves each job the
interpreter's start-up; a subclass that wraps the runner's command line, or a warm process that
cannot fork, gets cold runners started with ``subprocess``. Either way the runner starts with
the same session, descriptors, working folder and environment.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import psutil

from dockyard.api.jobs import (
    Capacity,
    Handle,
    Launch,
    RunnerStatus,
    runner_command,
    runner_environment,
)
from dockyard.runtime.runner._gpus import GpuSlots, machine_gpus
from dockyard.runtime.runner._learned import LEARNED_FILE
from dockyard.runtime.runner._zygote import Zygote
from dockyard.settings import Settings

__all__ = ["LocalExecutor"]

_HANDLE_FILE = "handle.json"  # in the job's control folder: the runner's latest handle


class LocalExecutor:
    """Runners as detached local processes.

    A handle is the pid plus the process's start time, so a pid reused by another program after
    a reboot is never mistaken for the runner, and the GPUs the job was given
    (:mod:`dockyard.runtime.runner._gpus`).
    """

    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.work_root = settings.resolved_work_root
        self._cpus = float(settings.executor_cpus or os.cpu_count() or 1)
        devices, pci_order = machine_gpus(settings.gpus)
        self.gpus = GpuSlots(devices, pci_order=pci_order)
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        # Only for the runner's own command line: a subclass that wraps it starts it cold.
        warm = settings.executor_warm and type(self).command is LocalExecutor.command
        self.zygote = (
            Zygote(
                sys.executable,
                self._environment(),
                self._zygote_log(),
                preload=settings.executor_preload,
                learn=self.work_root / ".cache" / LEARNED_FILE if settings.executor_learn else None,
            )
            if warm
            else None
        )

    def _environment(self) -> dict[str, str]:
        # The runner gets the executor's environment (the store's credentials, PATH), never the
        # server's settings: what it needs of those it fetches from the API.
        return {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}

    def _zygote_log(self) -> Path:
        return self.work_root / ".cache" / "warm-runner.log"

    def folder(self, job: str) -> Path:
        """The work folder of job ``job``."""
        return self.work_root / job

    def folders(self) -> list[str]:
        """The jobs whose work folders are here (see :meth:`discard`)."""
        try:
            return [p.name for p in self.work_root.iterdir() if p.is_dir() and p.name[0] != "."]
        except OSError:  # no job has run yet
            return []

    def discard(self, job: str) -> None:
        """Remove job ``job``'s work folder: it ended long ago, and its log, metrics, model and
        outputs are in the database and the store (a transform resumed after this redoes the
        shards it had finished)."""
        shutil.rmtree(self.folder(job), ignore_errors=True)

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
        job = launch["job"]
        devices = self.gpus.take(job, launch.get("gpus", 0))
        env = self._environment()
        env.update(runner_environment(launch, self.work_root / ".cache"))
        env.update(self.gpus.environment(devices))
        log_path = control / "runner.log"
        command = self.command(folder)
        try:
            pid = self._spawn_warm(command, env, folder, log_path)
            if pid is None:
                pid = self._spawn_cold(command, env, folder, log_path).pid
        except OSError:
            self.gpus.release(job)
            raise
        handle = self._handle(pid, log_path, job, devices)
        # Until the scheduler stores the handle, only this file says where the runner is: a
        # server killed in between finds it here (find) rather than failing a running job.
        started = control / _HANDLE_FILE
        started.with_suffix(".tmp").write_bytes(orjson.dumps(handle))
        started.with_suffix(".tmp").replace(started)
        return handle

    def find(self, job: str) -> Handle | None:
        """The handle of job ``job``'s runner if it still runs: one a server started just
        before it was killed, too soon to store the handle."""
        started = self.folder(job) / ".dockyard" / _HANDLE_FILE
        try:
            handle: Handle = orjson.loads(started.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        if not isinstance(handle, dict) or "pid" not in handle:
            return None
        return handle if self.status(handle)["running"] else None

    def _spawn_cold(
        self, command: list[str], env: dict[str, str], folder: Path, log_path: Path
    ) -> subprocess.Popen[bytes]:
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                command,
                env=env,
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        self._children[proc.pid] = proc
        return proc

    def _spawn_warm(
        self, command: list[str], env: dict[str, str], folder: Path, log: Path
    ) -> int | None:
        """The pid of a runner forked from the warm process; None when there is none."""
        if self.zygote is None:
            return None
        try:
            return self.zygote.spawn(command, env, folder, log)
        except OSError as exc:
            with log.open("ab") as out:  # said where a runner's own trouble is looked for
                out.write(f"[dockyard] started cold: {exc}\n".encode())
            return None

    @staticmethod
    def _handle(pid: int, log: Path, job: str, devices: list[str]) -> Handle:
        try:
            created = psutil.Process(pid).create_time()
        except psutil.Error:
            created = 0.0
        handle: Handle = {"pid": pid, "create_time": created, "log": str(log)}
        if devices:
            handle.update(job=job, gpus=devices)
        return handle

    def status(self, handle: Handle) -> RunnerStatus:
        status = self._status(handle)
        if "gpus" in handle:  # what the job holds, learnt again after a restart
            if status["running"]:
                self.gpus.hold(handle["job"], handle["gpus"])
            else:
                self.gpus.release(handle["job"])
        return status

    def _status(self, handle: Handle) -> RunnerStatus:
        pid = int(handle["pid"])
        if self.zygote is not None and self.zygote.owns(pid):
            code = self.zygote.exit_code(pid)
            if code is not None:
                self.zygote.forget(pid)
                return {"running": False, "exit_code": code, "detail": f"pid {pid} exited"}
            if self.zygote.reaps(pid) and (_zombie(pid) or not psutil.pid_exists(pid)):
                # Ended, and its exit code is on its way from the warm process that reaps it
                # (or has reaped it: the message may still be in the pipe).
                return {"running": True, "exit_code": None, "detail": f"pid {pid} ending"}
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
        gpus = float(len(self.gpus.devices))
        return {"cpus": self._cpus, "gpus": gpus, "node_gpus": gpus}

    def close(self) -> None:
        """End the warm process with the server (the runners it forked keep running)."""
        if self.zygote is not None:
            self.zygote.close()


def _zombie(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False
