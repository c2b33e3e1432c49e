"""Worker 0 as a fork of the runner's own process, when the runner's interpreter serves the model.

A worker started as ``python -m dockyard.runtime.batch._worker`` spends ~0.4 s before it scores
anything: the interpreter, Dockyard's model runtime, numpy, Arrow and the model's library. The
runner has the first three loaded already, and a transform job's process, forked from the warm
process, often has the model's library too (it learns the transforms' libraries, see
:mod:`dockyard.runtime.runner._learned`). :func:`fork_worker` forks the runner instead and runs
the worker's entry point in the child, which first makes itself what ``subprocess.Popen`` would
have made: pipes as standard input, output and error, the worker's environment and working
folder, default signal handling. It closes the runner's ends of its pipes and those the caller
names (the other workers' ends), not every other descriptor: native libraries own some (Arrow's
wake-up pipe, which it closes and remakes in a child of any later fork, aborting if it is gone),
and the runner's own are opened close-on-exec, so whatever the model's code starts never sees
them.

The environment alone does not reach libraries loaded before the fork: OpenMP, BLAS, glibc's
allocator and Arrow read ``OMP_NUM_THREADS``, ``MALLOC_ARENA_MAX`` and
``ARROW_DEFAULT_MEMORY_POOL`` when they load. The child applies them through each library's
own API (:func:`_apply_limits`), so a forked worker runs the threads and keeps the memory a
started one would.

Only a single-threaded process may fork (a lock another thread held would stay locked in the
child), and only where the model's code may see everything the runner holds: the caller
decides that (``run_transform``'s ``in_process``).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

__all__ = ["ForkedWorker", "can_fork", "fork_worker", "prepare_limits"]

_M_ARENA_MAX = -8  # glibc's mallopt parameter for MALLOC_ARENA_MAX
#: The shared objects loaded when :func:`prepare_limits` last ran, and the thread pools
#: ``threadpoolctl`` found in them then.
_prepared: tuple[tuple[bytes, ...], Any] | None = None


def can_fork() -> bool:
    """Whether this process may fork a worker now (POSIX, and no other thread runs)."""
    return hasattr(os, "fork") and threading.active_count() == 1


class ForkedWorker:
    """What the pool uses of ``subprocess.Popen`` for a forked worker."""

    def __init__(self, pid: int, stdin: IO[bytes], stdout: IO[bytes], stderr: IO[bytes]) -> None:
        self.pid = pid
        self.stdin: IO[bytes] | None = stdin
        self.stdout: IO[bytes] | None = stdout
        self.stderr: IO[bytes] | None = stderr
        self.returncode: int | None = None
        self._ended = threading.Event()
        self._reaping = threading.Lock()

    def poll(self) -> int | None:
        """The exit code once the worker ended and was reaped, else None."""
        if self.returncode is None and self._reaping.acquire(blocking=False):
            try:
                self._reap(os.WNOHANG)
            finally:
                self._reaping.release()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """The exit code; ``subprocess.TimeoutExpired`` if not ended within ``timeout``."""
        if timeout is None:
            with self._reaping:
                self._reap(0)
            assert self.returncode is not None
            return self.returncode
        deadline = time.monotonic() + timeout
        # Woken at once when another thread's blocking wait reaps it; else looks every 10 ms.
        while (code := self.poll()) is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise subprocess.TimeoutExpired([str(self.pid)], timeout)
            self._ended.wait(min(remaining, 0.01))
        return code

    def _reap(self, options: int) -> None:
        if self.returncode is not None:
            return
        try:
            pid, status = os.waitpid(self.pid, options)
        except ChildProcessError:  # reaped elsewhere: the code is lost, not the end
            pid, status = self.pid, 255 << 8
        if pid:
            self.returncode = os.waitstatus_to_exitcode(status)
            self._ended.set()

    def kill(self) -> None:
        """SIGKILL, unless it has been reaped already (its pid may be another's then)."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def fork_worker(env: Mapping[str, str], cwd: Path, close_fds: tuple[int, ...] = ()) -> ForkedWorker:
    """Fork a worker, as ``Popen([python, "-m", "dockyard.runtime.batch._worker"],
    stdin=PIPE, stdout=PIPE, stderr=PIPE, cwd=cwd, env=env)`` would start one; the child also
    closes ``close_fds``.

    Raises:
        RuntimeError: This process runs more than one thread.
        OSError: The fork failed.
    """
    if not can_fork():
        raise RuntimeError("a worker is forked only from a single-threaded process")
    stdin_read, stdin_write = os.pipe()
    stdout_read, stdout_write = os.pipe()
    stderr_read, stderr_write = os.pipe()
    # Nothing half-written may be written twice; no garbage holding a descriptor (which the
    # child closes, and may reuse) may be collected in the child.
    sys.stdout.flush()
    sys.stderr.flush()
    gc.collect()
    pools = _prepared_pools()  # asked here: the child may not ask the loader (see there)
    pid = os.fork()
    if pid == 0:
        # The child's collections never walk what it inherited: a first full one took ~5 ms
        # of a worker's start, and wrote to every page holding an object, which then stopped
        # being shared. (Freezing is one splice of lists; counting the frozen walks them.)
        gc.freeze()
        code = 1
        try:
            os.dup2(stdin_read, 0)
            os.dup2(stdout_write, 1)
            os.dup2(stderr_write, 2)
            ours = (stdin_read, stdin_write, stdout_read, stdout_write, stderr_read, stderr_write)
            for fd in {*ours, *close_fds} - {0, 1, 2}:
                with contextlib.suppress(OSError):
                    os.close(fd)
            _standard_streams()
            code = _run_worker(env, cwd, pools)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    for fd in (stdin_read, stdout_write, stderr_write):
        os.close(fd)
    return ForkedWorker(
        pid,
        os.fdopen(stdin_write, "wb"),
        os.fdopen(stdout_read, "rb"),
        os.fdopen(stderr_read, "rb"),
    )


def _standard_streams() -> None:
    """``sys.stdin``, ``stdout`` and ``stderr`` on descriptors 0, 1 and 2, as a started
    interpreter has them: the runner's may be objects on descriptors closed here (a test
    runner's capture, say)."""
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, errors="backslashreplace", closefd=False)  # noqa: SIM115


def _run_worker(env: Mapping[str, str], cwd: Path, pools: Any) -> int:
    """In the child: become a started worker, then serve."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    # The runner's handlers write to descriptors this process no longer has: the worker
    # configures its own, as a started one would.
    import logging

    for handler in logging.root.handlers[:]:
        logging.root.removeHandler(handler)
    _apply_limits(env, pools)
    from dockyard.runtime.batch._worker import main

    return main()


def _apply_limits(env: Mapping[str, str], pools: Any = None) -> None:
    """Give the libraries loaded before the fork the settings they read from ``env`` at load
    (their thread pools through ``pools``, those :func:`prepare_limits` found, when given)."""
    threads = env.get("OMP_NUM_THREADS", "")
    if threads.isdigit() and int(threads) > 0:
        xgboost = sys.modules.get("xgboost")
        if xgboost is not None:  # its own setting, whichever OpenMP it was built with
            with contextlib.suppress(Exception):
                xgboost.set_config(nthread=int(threads))
        _limit_thread_pools(int(threads), pools)
    arenas = env.get("MALLOC_ARENA_MAX", "")
    if arenas.isdigit() and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL(None).mallopt(_M_ARENA_MAX, int(arenas))
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None and env.get("ARROW_DEFAULT_MEMORY_POOL") == "system":
        pyarrow.set_memory_pool(pyarrow.system_memory_pool())


def prepare_limits() -> None:
    """Find the thread pools of the libraries loaded so far, once, for forked workers.

    ``threadpoolctl`` finds them by reading and searching ``/proc/self/maps`` (~6-9 ms with
    NumPy, Arrow and XGBoost loaded): each forked worker paid it on its way to its first
    shard. Called in the process workers are forked from or from one of its ancestors (the
    warm process calls it before each fork), it keeps what it found; a worker forked while
    the same shared objects are loaded applies its limits through it at once, and any other
    looks again. Looks again itself only when the loaded shared objects changed.
    """
    global _prepared
    try:
        import threadpoolctl  # type: ignore[import-untyped]
    except ImportError:  # installed with scikit-learn, which is optional
        return
    loaded = _loaded_objects()
    if loaded is None:
        return
    if _prepared is None or _prepared[0] != loaded:
        _prepared = (loaded, threadpoolctl.ThreadpoolController())


def _prepared_pools() -> Any:
    """The thread pools :func:`prepare_limits` found, if this process has the same shared
    objects loaded still; else None.

    Asked in the process about to fork, never in the child: a thread of a native library
    that held the loader's lock at the fork is not in the child, where the lock would stay
    held, and ``dl_iterate_phdr`` there would wait for ever.
    """
    if _prepared is not None and _prepared[0] == _loaded_objects():
        return _prepared[1]
    return None


def _limit_thread_pools(threads: int, pools: Any) -> None:
    """Limit every loaded library's thread pool to ``threads``: through ``pools`` when given
    (see :func:`prepare_limits`), else by looking for them."""
    if pools is not None:
        pools.limit(limits=threads)
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # installed with scikit-learn, which is optional
        return
    threadpool_limits(limits=threads)


def _loaded_objects() -> tuple[bytes, ...] | None:
    """The names of the shared objects this process has loaded, in load order; ``None`` where
    that cannot be asked safely (not Linux, or more than one thread: ``dl_iterate_phdr``
    holds the loader's lock while it calls back into Python, and a thread loading a library
    meanwhile could deadlock with it)."""
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return None
    import ctypes

    class _Info(ctypes.Structure):
        _fields_ = [("addr", ctypes.c_void_p), ("name", ctypes.c_char_p)]

    names: list[bytes] = []

    def each(info: Any, size: int, data: Any) -> int:
        names.append(info.contents.name or b"")
        return 0

    callback = ctypes.CFUNCTYPE(
        ctypes.c_int, ctypes.POINTER(_Info), ctypes.c_size_t, ctypes.c_void_p
    )
    try:
        ctypes.CDLL(None).dl_iterate_phdr(callback(each), None)
    except (OSError, AttributeError):
        return None
    return tuple(names)
