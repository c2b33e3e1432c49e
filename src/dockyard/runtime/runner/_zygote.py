"""A warm process that forks job runners: ``python -m dockyard.runtime.runner._zygote``.

A fresh runner spends most of its start-up importing Python modules. The local executor keeps
one process (:class:`Zygote`) that has already imported the runner's modules and forks one
child per job, which then makes itself what a freshly started runner would be: its own session,
``/dev/null`` as input and the runner's log as output, no other descriptor of the warm process,
the job's clean environment (with its token), the job's folder as working folder, and default
signal handling. Everything the runner starts afterwards (the job's process, a job user, the
death signal, ``/opt/ml``) it starts exactly as a cold runner does. ``random`` reseeds itself in
each child (CPython does at fork).

The warm process runs no Python thread of its own, so a fork never copies a lock another
thread held (it refuses to fork if an imported module started one; runners then start cold).
The native thread pools numpy's BLAS and Arrow's allocator start at import are fork-safe (they
register ``pthread_atfork`` handlers), as the batch workers that fork after importing rely on.
``DOCKYARD_EXECUTOR_PRELOAD`` names more modules to import, such as the models' libraries,
which a tiny transform scored in its own process then finds loaded; by default the warm process
also learns them from the transforms it ran (:mod:`dockyard.runtime.runner._learned`).
It reads requests (JSON lines) on its standard input and answers on its standard output with
the child's pid, and later with the child's exit code once it has reaped it. It exits when its
standard input closes (the server went away); runners already started keep running, as cold
ones do, in their own sessions.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from dockyard.runtime.runner._forked import exit_child
from dockyard.runtime.runner._learned import Learner
from dockyard.runtime.runner._process import die_with_runner

__all__ = ["Zygote", "main"]

#: What the warm process imports before it forks: the runner and what every runner loads, and
#: a transform's own process, which a warm runner forks rather than starts
#: (:mod:`dockyard.runtime.runner._forked`).
PRELOAD = (
    "ctypes",
    "dockyard.runtime.runner._runner",
    "dockyard.runtime.runner._work",
    "dockyard.runtime.runner._contract",
    "dockyard.runtime.runner._finish",
    "dockyard.runtime.runner._process",
    "dockyard.runtime.runner._forked",
    "dockyard.plugins",
    "dockyard.runtime.runner._transform",
    "dockyard.runtime.runner._prepare",
    "dockyard.runtime.batch._runner",
    "dockyard.runtime.batch._worker",
    "dockyard.models.uris",
)
#: How long a fork request may wait: the warm process answers between two imports of what it
#: learned, and one library's import (scikit-learn's) takes seconds on a loaded machine.
_REPLY_S = 60.0


class Zygote:
    """The server's side of the warm process: starts it, asks it for runners, learns their exit
    codes. Thread-safe; a warm process that died is replaced on the next :meth:`spawn`."""

    def __init__(
        self,
        python: str,
        env: dict[str, str],
        log: Path,
        preload: list[str] | None = None,
        learn: Path | None = None,
    ) -> None:
        self._python = python
        self._preload = list(preload or [])
        if learn is not None:
            self._preload += ["--learn", str(learn)]
        self._env = env
        self._log = log
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self._exits: dict[int, int] = {}
        self._children: set[int] = set()
        self._forked_by: dict[int, int] = {}  # child -> the warm process that forked it
        self._refused: str | None = None  # why the warm process will not fork (it never will)
        #: The thread reading the latest warm process's output; it ends with that output.
        self.reader: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The warm process's pid, when it runs."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        """Start the warm process now rather than with the first :meth:`spawn`."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        self._log.parent.mkdir(parents=True, exist_ok=True)
        with self._log.open("ab") as log:
            proc = subprocess.Popen(
                [self._python, "-m", "dockyard.runtime.runner._zygote", *self._preload],
                env=self._env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                close_fds=True,
            )
        self._replies = queue.Queue()
        assert proc.stdout is not None
        self.reader = threading.Thread(
            target=self._read, args=(proc.stdout, self._replies), name="zygote", daemon=True
        )
        self.reader.start()
        return proc

    def _read(self, stream: IO[bytes], replies: queue.Queue[dict[str, Any]]) -> None:
        with stream:  # closed once the warm process is gone
            for line in stream:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if "exited" in message:
                    self._exits[int(message["exited"])] = int(message["code"])
                    continue
                if "pid" in message:
                    # A pid comes back once the system has wrapped round its pids: the exit
                    # code of an earlier child that had it (one whose end was reported, so
                    # never asked for) is not this child's. Dropped here, in the pipe's order:
                    # this child's own exit can only follow its fork's reply.
                    self._exits.pop(int(message["pid"]), None)
                replies.put(message)
        replies.put({"error": "the warm process exited"})

    def spawn(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        log: Path,
        *,
        tied: bool = False,
    ) -> int:
        """Fork a runner running ``argv`` (``python -m MODULE ARGS``); returns its pid.

        A ``tied`` runner is killed (SIGKILL) when the warm process ends, as a Ray node's
        runners are when their host goes with the node; otherwise it outlives it.

        Raises:
            OSError: The warm process could not start or fork.
        """
        request = {"argv": argv, "env": env, "cwd": str(cwd), "log": str(log), "tied": tied}
        with self._lock:
            if self._refused is not None:
                raise OSError(self._refused)
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            proc, replies = self._proc, self._replies
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps(request).encode() + b"\n")
                proc.stdin.flush()
                reply = replies.get(timeout=_REPLY_S)
            except (OSError, ValueError, queue.Empty) as exc:
                self._discard(proc)
                raise OSError(f"the warm process did not answer: {exc}") from exc
            if "pid" not in reply:
                self._discard(proc)
                error = str(reply.get("error") or "the warm process could not fork")
                if reply.get("final"):  # a new warm process would refuse as well
                    self._refused = error
                raise OSError(error)
            pid = int(reply["pid"])
            self._children.add(pid)
            self._forked_by[pid] = proc.pid
            return pid

    def _discard(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(OSError):
            proc.kill()
        proc.wait()
        if proc.stdin is not None:  # its output is closed by the thread that reads it
            with contextlib.suppress(OSError):
                proc.stdin.close()
        self._proc = None

    def owns(self, pid: int) -> bool:
        """Whether ``pid`` was forked by a warm process of this server."""
        return pid in self._children

    def reaps(self, pid: int) -> bool:
        """Whether child ``pid`` was forked by the warm process running now, which reports its
        exit code once it has reaped it (a replaced warm process's children are not reaped)."""
        forked_by = self._forked_by.get(pid)
        return forked_by is not None and forked_by == self.pid

    def exit_code(self, pid: int) -> int | None:
        """The exit code of child ``pid`` once its warm process reaped it."""
        return self._exits.get(pid)

    def forget(self, pid: int) -> None:
        """Drop what is known of child ``pid`` (its end has been reported)."""
        self._children.discard(pid)
        self._forked_by.pop(pid, None)
        self._exits.pop(pid, None)

    def close(self) -> None:
        """End the warm process (its runners keep running)."""
        with self._lock:
            if self._proc is not None:
                self._discard(self._proc)


# -- the warm process ---------------------------------------------------------------------------


def _reply(message: dict[str, Any]) -> None:
    data = json.dumps(message).encode() + b"\n"
    while data:
        data = data[os.write(1, data) :]


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _reply({"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def _become_runner(request: dict[str, Any], tie: Callable[[], None] | None) -> int:
    """In the forked child: become a freshly started runner (``tie`` arms its death with the
    warm process's), then run it."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    if tie is not None:
        tie()
    log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    # Nothing of the warm process's own (its request and answer pipes) stays open.
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    argv = [str(a) for a in request["argv"]]
    if argv[1:2] != ["-m"] or len(argv) < 3:
        print(f"[dockyard] the warm process runs modules only, not {argv}", flush=True)
        return 2
    import importlib

    sys.argv = [argv[2], *argv[3:]]
    module = importlib.import_module(argv[2])
    code: int = module.main(argv[3:])
    return code


def _freeze() -> None:
    """Move what the imports made out of the collector's sight.

    Every fork here collects first (:func:`_fork`; a runner freezes before it forks a job's
    process); with scikit-learn, pandas and SciPy loaded a full collection walks a few hundred
    thousand objects (~0.1-0.25 s each time). Frozen, they are never walked again, here or in
    any child, and the children's pages holding them stay shared.

    Where ``threadpoolctl`` is installed (scikit-learn brings it), it finds the loaded
    libraries' thread pools here too, again only when the loaded libraries changed: a forked
    batch worker applies its thread limits through what it found (~6-9 ms less to its start;
    :func:`dockyard.runtime.batch.prepare_limits`).
    """
    from dockyard.runtime.batch import prepare_limits

    with contextlib.suppress(Exception):  # an optimisation only
        prepare_limits()
    gc.collect()
    gc.freeze()


def _fork(request: dict[str, Any]) -> None:
    if threading.active_count() != 1:  # a fork would copy locks other threads hold
        _reply({"error": "the warm process is not single-threaded", "final": True})
        return
    _freeze()  # no garbage holding a descriptor the child closes is collected there
    # Made here: the child checks its parent is still this process.
    tie = die_with_runner() if request.get("tied") else None
    try:
        pid = os.fork()
    except OSError as exc:
        _reply({"error": f"fork failed: {exc}"})
        return
    if pid:
        _reply({"pid": pid})
        return
    exit_child(lambda: _become_runner(request, tie))


def main(argv: list[str] | None = None) -> int:
    """Import :data:`PRELOAD` and the modules ``argv`` names, then fork runners on request.

    ``--learn FILE`` among ``argv`` names the file of modules that transforms imported
    (:mod:`dockyard.runtime.runner._learned`): they are imported too, one at a time whenever no
    request waits, and again each time a runner ends.
    """
    import importlib

    args = list(sys.argv[1:] if argv is None else argv)
    learner: Learner | None = None
    if "--learn" in args:
        at = args.index("--learn")
        learner = Learner(Path(args[at + 1]))
        del args[at : at + 2]
    for name in PRELOAD:
        importlib.import_module(name)
    for name in args:
        try:  # a library that is missing or broken only costs its jobs the import
            importlib.import_module(name)
        except Exception as exc:
            print(f"[dockyard] not preloading {name}: {exc}", file=sys.stderr, flush=True)
    _freeze()
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    if learner is not None:
        learner.poll()
    buffer = b""
    while True:
        idle = learner is not None and learner.pending
        readable, _, _ = select.select([0, wake_read], [], [], 0 if idle else None)
        if wake_read in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_read, 4096)
            if learner is not None:
                learner.poll()  # a runner ended: its transform may have learned something
        _reap()
        if 0 in readable:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                return 0  # the server went away
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                try:
                    request = json.loads(line)
                except ValueError:
                    _reply({"error": "unreadable request"})
                    continue
                _fork(request)
        elif idle and learner is not None:
            refused = learner.step()
            if refused is None:
                if not learner.pending:
                    _freeze()
                continue
            print(
                f"[dockyard] importing {refused} started a thread: not preloading it again",
                file=sys.stderr,
                flush=True,
            )
            return 3  # the next request starts a warm process without it


if __name__ == "__main__":
    sys.exit(main())
