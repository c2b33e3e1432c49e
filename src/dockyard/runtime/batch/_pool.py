"""The worker processes of one transform, and the messages they send.

Workers run ``<python> -m dockyard.runtime.batch._worker`` with the copied runtime first on
``PYTHONPATH`` (see ``_env``), or, where the caller allows it and the runner's interpreter
serves the model, worker 0 is a fork of the runner (:mod:`dockyard.runtime.batch._fork`), which
has Dockyard, numpy and Arrow loaded, and often the model's library too. With more than one
worker, only worker 0 is started (or forked): it imports the model's library once and forks the
others (``_worker._fork_siblings``), which then share those modules' memory (~200 MB for pandas,
scikit-learn and XGBoost) instead of each importing its own copy. The runner makes every other
worker's pipes itself and hands them to worker 0, so each worker still has its own stdin,
protocol stream and stderr here; worker 0 reports its siblings' exit codes, and they die with
it.

One thread per worker reads its protocol stream into a queue the runner drains; another
forwards its stderr, line by line, to the ``dockyard.runtime.batch.worker`` logger (the job's log),
keeping the last lines to explain a worker that dies. A worker's ``exit`` event always comes
after every message it sent.

Workers get an even share of the cores for the numeric libraries' threads
(``OMP_NUM_THREADS`` and friends, unless the caller set them): parallelism comes from
processes first, and more threads than cores would only fight over them.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from dockyard.runtime.batch._config import PARENT_ENV, WorkerConfig
from dockyard.runtime.batch._env import WorkerRuntime
from dockyard.runtime.batch._fork import ForkedWorker, can_fork, fork_worker

__all__ = ["Event", "WorkerPool"]

_log = logging.getLogger("dockyard.runtime.batch.worker")
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
        """``ready``, ``fatal``, ``progress``, ``free``, ``done``, ``failed`` or ``exit``."""
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
        base_env: Mapping[str, str] | None = None,
        fork: bool = False,
    ) -> None:
        self._runtime = runtime
        # Forking needs this interpreter to be the workers' (and the caller's consent: the
        # model's code then sees what this process holds).
        self._fork = fork and not runtime.own_env and runtime.python == sys.executable
        self._config = config
        self._count = count
        self._cwd = cwd
        self._cpus = cpus
        self._keep_fds = keep_fds
        self._base_env = base_env
        self._events: queue.Queue[Event] = queue.Queue()
        # The processes started here: every worker, or worker 0 that forks the others.
        self._processes: list[subprocess.Popen[bytes] | ForkedWorker] = []
        self._stdins: list[IO[bytes]] = []
        self._pids: list[int | None] = [None] * count
        self._codes: list[Future[int | None]] = [Future() for _ in range(count)]
        self._tails = [collections.deque[str](maxlen=_STDERR_TAIL) for _ in range(count)]
        self._threads: list[threading.Thread] = []

    @property
    def count(self) -> int:
        """The number of workers."""
        return self._count

    @property
    def forked(self) -> bool:
        """Whether workers 1, 2... are forked from worker 0 once it imported the libraries."""
        return self._count > 1

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ if self._base_env is None else self._base_env)
        inherited = env.get("PYTHONPATH", "")
        # The model's own environment must not see the host's packages; the host's workers keep
        # whatever path the caller set, after the runtime copy.
        keep = "" if self._runtime.own_env else inherited
        copy = str(self._runtime.path) if self._runtime.copied else ""
        env["PYTHONPATH"] = os.pathsep.join(p for p in (copy, keep) if p)
        env["PYTHONUNBUFFERED"] = "1"
        env[PARENT_ENV] = str(os.getpid())
        threads = str(max(1, self._cpus // self._count))
        for name in _THREAD_VARIABLES:
            env.setdefault(name, threads)
        # glibc's per-thread arenas and Arrow's own allocator both keep freed batch memory for
        # reuse; the system allocator with two arenas keeps each worker ~30 MB smaller.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        env.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
        return env

    def start(self) -> None:
        """Start every worker and send it its configuration."""
        init: dict[str, Any] = {"type": "init", "config": self._config.to_dict()}
        if not self.forked:
            for index in range(self._count):
                self._start_process(index, (), init)
            return
        ours: list[tuple[int, int, int]] = []
        theirs: list[tuple[int, int, int]] = []
        for _ in range(1, self._count):
            stdin_read, stdin_write = os.pipe()
            protocol_read, protocol_write = os.pipe()
            stderr_read, stderr_write = os.pipe()
            ours.append((stdin_write, protocol_read, stderr_read))
            theirs.append((stdin_read, protocol_write, stderr_write))
        init["fork"] = [list(channel) for channel in theirs]
        try:
            self._start_process(
                0,
                tuple(fd for channel in theirs for fd in channel),
                init,
                tuple(fd for channel in ours for fd in channel),
            )
        finally:
            for channel in theirs:  # worker 0 holds them now (or failed to start)
                for fd in channel:
                    os.close(fd)
        for index, (stdin, protocol, stderr) in enumerate(ours, start=1):
            self._attach(
                index, os.fdopen(stdin, "wb"), os.fdopen(protocol, "rb"), os.fdopen(stderr, "rb")
            )

    def _start_process(
        self,
        index: int,
        pass_fds: tuple[int, ...],
        init: dict[str, Any],
        close_fds: tuple[int, ...] = (),
    ) -> None:
        """Start worker ``index`` with ``pass_fds`` open; ``close_fds`` are this process's own
        (a forked worker closes them; a started one never had them)."""
        process: subprocess.Popen[bytes] | ForkedWorker
        # Without a runtime copy there is nothing to start: forking is the only way (and a
        # thread started since the runtime was chosen makes it fail loudly, not silently).
        if self._fork and (can_fork() or not self._runtime.copied):
            process = fork_worker(self._environment(), self._cwd, close_fds)
        else:
            process = subprocess.Popen(
                [self._runtime.python, "-m", "dockyard.runtime.batch._worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=self._cwd,
                env=self._environment(),
                pass_fds=(*pass_fds, *self._keep_fds),
            )
        self._processes.append(process)
        self._pids[index] = process.pid
        assert process.stdin and process.stdout and process.stderr
        self._thread(self._wait_exit, index, process)
        self._attach(index, process.stdin, process.stdout, process.stderr)
        self._write(index, json.dumps(init).encode() + b"\n")

    def _attach(self, index: int, stdin: IO[bytes], protocol: IO[bytes], stderr: IO[bytes]) -> None:
        self._stdins.append(stdin)
        self._thread(self._read_protocol, index, protocol)
        self._thread(self._read_log, index, stderr)

    def _thread(self, target: Any, *args: Any) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name="batch-worker-io", daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    def _read_protocol(self, index: int, stream: IO[bytes]) -> None:
        for line in stream:
            try:
                message = json.loads(line)
            except ValueError:
                _log.warning("worker %d sent an unreadable message: %r", index, line[:200])
                continue
            kind = message.get("type")
            if kind == "exited":  # worker 0 reports a forked sibling's exit
                with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
                    self._codes[int(message["worker"])].set_result(message.get("code"))
                continue
            if kind == "ready":
                self._pids[index] = message.get("pid")
            self._events.put(Event(index, message))
        stream.close()
        code = self._codes[index].result()
        if index == 0 and self.forked:
            for sibling in self._codes[1:]:  # forked workers never started, or died with it
                if not sibling.done():
                    sibling.set_result(code)
        # Only once the worker's last message is queued: its exit code.
        self._events.put(Event(index, {"type": "exit", "code": code}))

    def _wait_exit(self, index: int, process: subprocess.Popen[bytes] | ForkedWorker) -> None:
        self._codes[index].set_result(process.wait())

    def _read_log(self, index: int, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            self._tails[index].append(line)
            _log.info("[worker %d pid %s] %s", index, self._pids[index], line)
        stream.close()

    def stderr_tail(self, index: int) -> str:
        """The last lines worker ``index`` wrote to stderr."""
        return "\n".join(self._tails[index])

    def _write(self, index: int, data: bytes) -> bool:
        try:
            stdin = self._stdins[index]
            stdin.write(data)
            stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False  # the worker died (its exit event says so), or it was closed
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

    def close(self, *, kill: bool = False, wait: bool = True) -> None:
        """End every worker: politely (end of input) or, with ``kill``, at once.

        Returns once every worker is gone, or with ``wait=False`` once each is told: the kernel
        takes ~10 ms to free a killed worker's memory, which the caller can spend on other
        work before a later call waits for the end (calling again is harmless). A killed
        worker's unfinished shard has no marker, so it is simply redone on resume.
        """
        if kill:
            for process in self._processes:
                if process.poll() is None:
                    process.kill()  # forked workers die with worker 0 (PR_SET_PDEATHSIG)
        else:
            for index in range(len(self._stdins)):
                self.send(index, {"type": "exit"})
        for stdin in self._stdins:
            with contextlib.suppress(OSError):
                stdin.close()
        if not wait:
            return
        for process in self._processes:
            try:
                process.wait(timeout=_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # A worker's protocol stream ends only when the worker has exited.
        for thread in self._threads:
            thread.join(timeout=_STOP_GRACE_S)
        for process in self._processes:
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
