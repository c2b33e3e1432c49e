"""What the Ray executor runs on a cluster: a runner's host actor and the executor's ledger.

A :class:`RunnerHost` is a named, detached Ray actor holding the job's CPUs and memory on
whichever node Ray placed it. It starts the job's runner as a child process (a new interpreter:
never a fork of the Ray worker, which Ray advises against) in a temporary work folder of that
node, keeps the runner's own output in a file there, answers for the runner (status, log tail,
a SIGTERM to stop it) and, once the runner has ended, writes its exit code and the tail of its
output to the :class:`Ledger`, removes the folder and ends itself, giving its resources back.
When Ray starts it again after its node was lost (``max_restarts``), it starts a new runner that
goes on with the job's next attempt (:data:`~dockyard.api.jobs.RUNNER_ATTEMPT`).

The :class:`Ledger` is one small actor (no CPU) on the head node per namespace: it keeps what
ended runners left, so the executor can still answer ``status`` and ``logs`` for a runner whose
host has gone, and counts the restarts of each host.

These classes are plain: the executor makes them Ray actors (``ray.remote``) where Ray is
imported, so importing this module never imports Ray.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from dockyard.api.jobs import RUNNER_ATTEMPT, RUNNER_CACHE, RunnerStatus, runner_command

__all__ = ["LEDGER", "Ledger", "RunnerHost", "forwarded_environment"]

#: The ledger actor's name in the executor's namespace.
LEDGER = "dockyard-ledger"
_KEEP = 10_000  # ended runners the ledger remembers
_TAIL_BYTES = 64 * 1024


def forwarded_environment(environ: dict[str, str], patterns: list[str]) -> dict[str, str]:
    """The variables of ``environ`` whose names match one of ``patterns`` (shell patterns)."""
    return {k: v for k, v in environ.items() if any(fnmatch.fnmatchcase(k, p) for p in patterns)}


class Ledger:
    """What ended runners left (exit code, output tail), and restart counts, by host name."""

    def __init__(self) -> None:
        self._ended: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._restarts: OrderedDict[str, int] = OrderedDict()

    def ended(self, name: str, record: dict[str, Any]) -> None:
        """Keep what the runner of host ``name`` left."""
        self._ended[name] = record
        self._ended.move_to_end(name)
        while len(self._ended) > _KEEP:
            self._ended.popitem(last=False)

    def get(self, name: str) -> dict[str, Any] | None:
        """What the runner of host ``name`` left; None when it has not ended (or is unknown)."""
        return self._ended.get(name)

    def restarted(self, name: str) -> int:
        """Count one more start of host ``name``; returns how many starts it has had."""
        count = self._restarts.get(name, 1) + 1
        self._restarts[name] = count
        self._restarts.move_to_end(name)
        while len(self._restarts) > _KEEP:
            self._restarts.popitem(last=False)
        return count


class RunnerHost:
    """Runs one job's runner on a Ray node (see the module docstring).

    Args:
        name: The actor's name (unique per launch).
        env: The runner's variables (:func:`~dockyard.api.jobs.runner_environment` without the
            cache, which is the node's, plus the variables the server passes on).
        namespace: The executor's Ray namespace, where the ledger is.
    """

    def __init__(self, name: str, env: dict[str, str], namespace: str) -> None:
        import ray

        context = ray.get_runtime_context()
        self.name = name
        self.node = context.get_node_id()
        self._ledger = ray.get_actor(LEDGER, namespace=namespace)
        self._me = context.current_actor
        attempt = 1
        if context.was_current_actor_reconstructed:
            counted: Any = ray.get(self._ledger.restarted.remote(name))
            attempt = int(counted)
        # The node's own folders: nothing is shared with the server or other nodes.
        self.folder = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        control = self.folder / ".dockyard"
        control.mkdir(mode=0o700)
        self.log = control / "runner.log"
        runner_env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
        runner_env.update(env)
        runner_env[RUNNER_CACHE] = str(Path(tempfile.gettempdir()) / "dockyard-runner-cache")
        if attempt > 1:
            runner_env[RUNNER_ATTEMPT] = str(attempt)
            with self.log.open("ab") as out:
                out.write(
                    f"[dockyard] started again (start {attempt}): its node was lost\n".encode()
                )
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                runner_command(sys.executable, self.folder),
                env=runner_env,
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                close_fds=True,
            )
        self._ended: dict[str, Any] | None = None  # what the runner left, once it has ended
        threading.Thread(target=self._wait, name="runner-exit", daemon=True).start()

    def status(self) -> RunnerStatus:
        """Whether the runner still runs (an ended one's host is about to go)."""
        code = self.proc.poll()
        where = f"runner pid {self.proc.pid} on Ray node {self.node[:12]}"
        if code is None:
            return {"running": True, "exit_code": None, "detail": where}
        return {"running": False, "exit_code": code, "detail": f"{where} exited"}

    def logs(self, limit: int) -> str:
        """The last ``limit`` characters the runner wrote."""
        if self._ended is not None:  # its folder may be gone already
            tail = str(self._ended["tail"])
            return tail[-limit:] if limit > 0 else ""
        return _tail(self.log, limit)

    def stop(self) -> None:
        """SIGTERM to the runner: it stops the job's process gracefully (then with SIGKILL)."""
        if self.proc.poll() is None:
            self.proc.terminate()

    def _wait(self) -> None:
        code = self.proc.wait()
        import ray

        record = {
            "exit_code": code,
            "tail": _tail(self.log, _TAIL_BYTES),
            "detail": f"runner pid {self.proc.pid} on Ray node {self.node[:12]} exited",
        }
        self._ended = record
        try:
            ray.get(self._ledger.ended.remote(self.name, record))
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            # Gives the job's resources back once the calls already queued are answered.
            self._me.__ray_terminate__.remote()


def _tail(path: Path, limit: int) -> str:
    try:
        with path.open("rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - limit))
            return log.read().decode("utf-8", "replace")[-limit:] if limit > 0 else ""
    except OSError:
        return ""
