"""A Ray node's runner host: one long-lived actor per node that starts the runners Ray placed there.

A :class:`NodeHost` is a named, detached Ray actor (no CPU of its own) pinned to one node. It is
started once, the first time a job is placed on that node, and then starts every runner of that
node in a temporary work folder: forked from a warm process the host starts
(:class:`~dockyard.runtime.runner._zygote.Zygote`, as the local executor's runners are), or as a
new interpreter when that cannot fork; never a fork of the Ray worker itself, which Ray advises
against. It keeps the runner's own output in a file there, answers for
it (log tail, a SIGTERM to stop it), and, once it has ended, gives its exit code and the tail of
its output to whoever waits for it and removes the folder.

A job's CPUs and memory are not the host's: they are held by the job's placement group
(:mod:`dockyard.runtime.runner._raydispatch`), which Ray places like any task, so Ray still
places and limits jobs by their resources while a job's start costs a process, not a new Ray
worker. When the node is lost, Ray ends the host and its children with it, and a runner dies
with the warm process it was forked from.

The class is plain: the executor makes it a Ray actor (``ray.remote``) where Ray is imported, so
importing this module never imports Ray.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from dockyard.api.jobs import RUNNER_ATTEMPT, RUNNER_CACHE, runner_command
from dockyard.runtime.runner._process import ExitWatch
from dockyard.runtime.runner._zygote import Zygote

__all__ = ["HOST_PREFIX", "NodeHost", "forget_warm_logs", "forwarded_environment", "tail"]

#: A node host's name is this and the node's id, in the executor's namespace.
HOST_PREFIX = "dockyard-node-"
_TAIL_BYTES = 64 * 1024
_EXIT_POLL_S = 1.0  # how long one wait for a forked runner's end lasts
_REPORT_POLL_S = 0.005  # how often an ended runner's exit code is looked for
_WARM_LOG = "warm-runner-"  # and the node's id: its warm process's log, in the runner cache


def forget_warm_logs(cache: Path, alive: set[str]) -> None:
    """Remove the warm processes' logs in ``cache`` of nodes no longer ``alive`` (node ids):
    a node's host writes one, and nothing else ends it when the node goes."""
    for log in cache.glob(f"{_WARM_LOG}*.log"):
        if log.stem.removeprefix(_WARM_LOG) not in alive:
            log.unlink(missing_ok=True)


def forwarded_environment(environ: dict[str, str], patterns: list[str]) -> dict[str, str]:
    """The variables of ``environ`` whose names match one of ``patterns`` (shell patterns)."""
    return {k: v for k, v in environ.items() if any(fnmatch.fnmatchcase(k, p) for p in patterns)}


class _Runner:
    """One runner the host started: its pid (its process when started cold), folder and log."""

    def __init__(
        self, pid: int, proc: subprocess.Popen[bytes] | None, folder: Path, log: Path
    ) -> None:
        self.pid = pid
        self.proc = proc
        self.folder = folder
        self.log = log


class NodeHost:
    """Starts and answers for the runners of one Ray node (see the module docstring)."""

    def __init__(self) -> None:
        import ray

        self.node: str = ray.get_runtime_context().get_node_id()
        self._runners: dict[str, _Runner] = {}
        self._lock = threading.Lock()
        self._base = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
        cache = Path(tempfile.gettempdir()) / "dockyard-runner-cache"
        self._cache = str(cache)
        with contextlib.suppress(Exception):  # tidying only: a host starts regardless
            nodes = ray.nodes()  # type: ignore[no-untyped-call]
            forget_warm_logs(cache, {n["NodeID"] for n in nodes if n.get("Alive")})
        self._zygote = Zygote(sys.executable, self._base, cache / f"{_WARM_LOG}{self.node}.log")
        self._zygote.start()  # its imports overlap the wait for the node's first job

    def ready(self) -> str:
        """The node's id, once the host runs."""
        return self.node

    def start(self, name: str, env: dict[str, str], attempt: int) -> int:
        """Start runner ``name`` with ``env`` (its :func:`~dockyard.api.jobs.runner_environment`
        without the cache, which is the node's) making the job's attempt ``attempt``; returns
        its pid."""
        # The node's own folders: nothing is shared with the server or other nodes.
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        control = folder / ".dockyard"
        control.mkdir(mode=0o700)
        log = control / "runner.log"
        runner_env = {**self._base, **env, RUNNER_CACHE: self._cache}
        if attempt > 1:
            runner_env[RUNNER_ATTEMPT] = str(attempt)
        if attempt > 1:
            with log.open("ab") as out:
                out.write(
                    f"[dockyard] started again (start {attempt}): its node was lost\n".encode()
                )
        command = runner_command(sys.executable, folder)
        try:
            pid = self._zygote.spawn(command, runner_env, folder, log, tied=True)
            proc = None
        except OSError as exc:
            with log.open("ab") as out:
                out.write(f"[dockyard] started cold: {exc}\n".encode())
                proc = subprocess.Popen(
                    command,
                    env=runner_env,
                    cwd=folder,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    close_fds=True,
                )
            pid = proc.pid
        with self._lock:
            self._runners[name] = _Runner(pid, proc, folder, log)
        return pid

    def wait(self, name: str) -> dict[str, Any]:
        """Wait until runner ``name`` ends; returns its exit code, output tail and a detail."""
        with self._lock:
            runner = self._runners.get(name)
        if runner is None:
            return {"exit_code": None, "tail": "", "detail": f"no runner {name} on this node"}
        code = runner.proc.wait() if runner.proc is not None else self._forked_exit(runner.pid)
        record = {
            "exit_code": code,
            "tail": tail(runner.log, _TAIL_BYTES),
            "detail": f"runner pid {runner.pid} on Ray node {self.node[:12]} exited",
        }
        with self._lock:
            self._runners.pop(name, None)
        shutil.rmtree(runner.folder, ignore_errors=True)
        return record

    def logs(self, name: str, limit: int) -> str:
        """The last ``limit`` characters runner ``name`` wrote ("" once it has ended)."""
        with self._lock:
            runner = self._runners.get(name)
        return tail(runner.log, limit) if runner is not None else ""

    def stop(self, name: str) -> None:
        """SIGTERM to runner ``name``: it stops the job's process gracefully (then SIGKILL)."""
        with self._lock:
            runner = self._runners.get(name)
        if runner is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(runner.pid, signal.SIGTERM)

    def _forked_exit(self, pid: int) -> int | None:
        """Wait for runner ``pid``, forked by the warm process, which reaps it and reports its
        exit code; None when the warm process died first (the runner died with it)."""
        zygote = self._zygote
        with ExitWatch(pid) as watch:
            while (code := zygote.exit_code(pid)) is None and zygote.reaps(pid):
                if not psutil.pid_exists(pid) or _zombie(pid) or not watch.wait(_EXIT_POLL_S):
                    time.sleep(_REPORT_POLL_S)  # ended: its exit code is on its way
        zygote.forget(pid)
        return code


def tail(path: Path, limit: int) -> str:
    """The last ``limit`` characters of the file at ``path`` ("" when it cannot be read)."""
    try:
        with path.open("rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - limit))
            return log.read().decode("utf-8", "replace")[-limit:] if limit > 0 else ""
    except OSError:
        return ""


def _zombie(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False
