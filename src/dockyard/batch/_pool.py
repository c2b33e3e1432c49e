"""The worker processes of one transform, and the messages they send.

Each worker is ``<python> -m dockyard.batch._worker`` with the copied runtime first on
``PYTHONPATH`` (see ``_env``). One thread per worker reads its protocol stream into a queue the
runner drains; another forwards its stderr, line by line, to the ``dockyard.batch.worker`` logger
(the job's log), keeping the last lines to explain a worker that dies.

Workers run one thread each for the numeric libraries (``OMP_NUM_THREADS`` and friends, unless
the caller set them): parallelism comes from processes, and two thread pools per core would
only fight over it.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import queue
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from dockyard.batch._config import PARENT_ENV, WorkerConfig
from dockyard.batch._env import WorkerRuntime

__all__ = ["Event", "WorkerPool"]

_log = logging.getLogger("dockyard.batch.worker")
_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
_STDERR_TAIL = 40
_STOP_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class Event:
    """A message from worker ``worker``; ``type`` ``exit`` means its process ended."""

    worker: int
    message: dict[str, Any]

    @property
    def type(self) -> str:
        """``ready``, ``fatal``, ``progress``, ``done``, ``failed`` or ``exit``."""
        return str(self.message.get("type"))


class WorkerPool:
    """``count`` worker processes that each load the model once and score shards on demand."""

    def __init__(
        self,
        runtime: WorkerRuntime,
        config: WorkerConfig,
        count: int,
        *,
        cwd: Path,
        cpus: int,
        keep_fds: tuple[int, ...] = (),
    ) -> None:
        self._runtime = runtime
        self._config = config
        self._count = count
        self._cwd = cwd
        self._cpus = cpus
        self._keep_fds = keep_fds
        self._events: queue.Queue[Event] = queue.Queue()
        self._processes: list[subprocess.Popen[bytes]] = []
        self._tails: list[collections.deque[str]] = []
        self._threads: list[threading.Thread] = []

    @property
    def count(self) -> int:
        """The number of workers."""
        return self._count

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        inherited = env.get("PYTHONPATH", "")
        # The model's own environment must not see the host's packages; the host's workers keep
        # whatever path the caller set, after the runtime copy.
        keep = "" if self._runtime.own_env else inherited
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self._runtime.path), keep) if p)
        env["PYTHONUNBUFFERED"] = "1"
        env[PARENT_ENV] = str(os.getpid())
        threads = str(max(1, self._cpus // self._count))
        for name in _THREAD_VARIABLES:
            env.setdefault(name, threads)
        # glibc's per-thread arenas hold freed batch memory for reuse; two keep RSS flat.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        return env

    def start(self) -> None:
        """Start every worker and send it its configuration."""
        env = self._environment()
        command = [self._runtime.python, "-m", "dockyard.batch._worker"]
        init = json.dumps({"type": "init", "config": self._config.to_dict()}).encode() + b"\n"
        for index in range(self._count):
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self._cwd,
                env=env,
                pass_fds=self._keep_fds,
            )
            self._processes.append(process)
            tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL)
            self._tails.append(tail)
            for target, stream in (
                (self._read_protocol, process.stdout),
                (self._read_log, process.stderr),
            ):
                thread = threading.Thread(
                    target=target, args=(index, stream), name=f"batch-worker-{index}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
            self._write(index, init)

    def _read_protocol(self, index: int, stream: IO[bytes]) -> None:
        for line in stream:
            try:
                message = json.loads(line)
            except ValueError:
                _log.warning("worker %d sent an unreadable message: %r", index, line[:200])
                continue
            self._events.put(Event(index, message))
        code = self._processes[index].wait()
        self._events.put(Event(index, {"type": "exit", "code": code}))

    def _read_log(self, index: int, stream: IO[bytes]) -> None:
        pid = self._processes[index].pid
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            self._tails[index].append(line)
            _log.info("[worker %d pid %d] %s", index, pid, line)

    def stderr_tail(self, index: int) -> str:
        """The last lines worker ``index`` wrote to stderr."""
        return "\n".join(self._tails[index])

    def _write(self, index: int, data: bytes) -> bool:
        stdin = self._processes[index].stdin
        if stdin is None:
            return False
        try:
            stdin.write(data)
            stdin.flush()
        except (BrokenPipeError, OSError):
            return False  # the worker died; its exit event says so
        return True

    def send(self, index: int, message: dict[str, Any]) -> bool:
        """Send one message to worker ``index``; ``False`` if it is gone."""
        return self._write(index, json.dumps(message).encode() + b"\n")

    def next_event(self, timeout: float) -> Event | None:
        """The next message from any worker, or ``None`` after ``timeout`` seconds."""
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self, *, kill: bool = False) -> None:
        """End every worker: politely (end of input) or, with ``kill``, at once.

        A killed worker's unfinished shard has no marker, so it is simply redone on resume.
        """
        for index, process in enumerate(self._processes):
            if process.poll() is not None:
                continue
            if kill:
                process.kill()
            else:
                self.send(index, {"type": "exit"})
                if process.stdin is not None:
                    with contextlib.suppress(OSError):
                        process.stdin.close()
        for process in self._processes:
            try:
                process.wait(timeout=_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for thread in self._threads:
            thread.join(timeout=_STOP_GRACE_S)
        for process in self._processes:
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
