"""One job's supervisor process: ``python -m dockyard.jobs._runner JOB_DIR``.

It runs detached from the server (its own session), so a server restart neither stops the job
nor loses its state: status goes to ``.dockyard/events.jsonl``, output to ``.dockyard/output.log``.
It prepares the SageMaker ``/opt/ml`` layout, runs the user's code with the ``SM_*``
environment, enforces the memory limit and maximum runtime, honours stop requests (SIGTERM, then
SIGKILL after a grace period), parses metric lines, retries, and finally packages and uploads
the model. The user's process dies with the runner (``PR_SET_PDEATHSIG``): a runner killed
outright must not leave a script or a transform running that nobody watches, whose job the
scheduler has already failed. Imports are kept light until the user's process has started: the
time from submit to the first line of user code is a number users feel.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dockyard.jobs._events import EventWriter
from dockyard.jobs._files import read_text
from dockyard.jobs._layout import JobDir
from dockyard.jobs._optml import MISSING
from dockyard.jobs._user import JobUser, chown_tree, hand_over

__all__ = ["main"]

_POLL_S = 0.05
_TAIL_LINES = 25


class _Outcome:
    def __init__(self, kind: str, message: str = "", exit_code: int | None = None) -> None:
        self.kind = kind  # ok | failed | stopped | runtime | memory
        self.message = message
        self.exit_code = exit_code


class Runner:
    """Runs the job described in ``job_dir/.dockyard/job.json``."""

    def __init__(self, job_dir: Path) -> None:
        self.dir = JobDir(job_dir)
        self.job: dict[str, Any] = json.loads(self.dir.job_file.read_text())
        self.spec: dict[str, Any] = self.job["spec"]
        self.events = EventWriter(self.dir.events)
        self.stop_requested = threading.Event()
        self.tail: deque[str] = deque(maxlen=_TAIL_LINES)
        self.metrics: Any = None  # a MetricParser, built lazily (it imports the HTTP client)
        self.no_opt_ml: str | None = None  # the log line saying /opt/ml could not be mounted
        # Training code runs as DOCKYARD_JOB_USER when one is set; a transform's own process
        # is Dockyard's (it holds the store's credentials) and keeps the runner's user.
        user = self.job.get("user") if self.job["kind"] == "training" else None
        self.user = JobUser.from_dict(user) if user else None

    def run(self) -> int:
        signal.signal(signal.SIGTERM, lambda *_: self.stop_requested.set())
        try:
            outcome = self._attempts()
        except Exception as exc:
            outcome = _Outcome("failed", f"the job could not run: {exc}")
        return self._finish(outcome)

    def _attempts(self) -> _Outcome:
        from dockyard.jobs._prepare import prepare, restore_checkpoints

        retry = self.spec.get("retry_strategy") or {"max_attempts": 1}
        max_attempts = int(retry["max_attempts"])
        outcome = _Outcome("failed", "no attempt ran")
        for attempt in range(1, max_attempts + 1):
            if self._stop_seen():
                return _Outcome("stopped", "stopped by request")
            if attempt > 1:
                self.events.emit(
                    "Restarting", f"attempt {attempt} of {max_attempts}: {outcome.message}"
                )
                restore_checkpoints(self.dir, self.spec, self.job)
                if self.user is not None:
                    chown_tree(self.dir.checkpoints, self.user)  # restored fresh, by the runner
            elif self.job["kind"] == "training":
                self.events.emit("Downloading")
                prepare(self.dir, self.spec, self.job)
                self._own_environment()
                if self.user is not None:
                    hand_over(self.dir, self.user)
            else:
                self.dir.create()
            self.events.emit("Training" if self.job["kind"] == "training" else "Transforming")
            outcome = self._execute(attempt)
            if outcome.kind != "failed":
                break
        return outcome

    def _own_environment(self) -> None:
        """Use the environment ``requirements.txt`` asks for, building it on first use."""
        if not (self.dir.code / "requirements.txt").is_file():
            return
        from dockyard.jobs._env import job_python

        with self.dir.log.open("ab") as log:
            log.write(b"[dockyard] preparing the environment from requirements.txt\n")
        started = time.monotonic()
        self.job["python"] = job_python(self.dir.code, Path(self.job["env_cache"]))
        with self.dir.log.open("ab") as log:
            log.write(
                f"[dockyard] environment ready in {time.monotonic() - started:.1f} s: "
                f"{self.job['python']}\n".encode()
            )

    def _command(self) -> tuple[list[str], Path]:
        python = self.job.get("python") or sys.executable
        if self.job["kind"] == "transform":
            return [python, "-m", "dockyard.jobs._transform", str(self.dir.root)], self.dir.root
        if self.spec.get("algorithm"):
            from dockyard.jobs.algorithms import BUILTIN_ALGORITHMS

            return BUILTIN_ALGORITHMS[self.spec["algorithm"]].command(python), self.dir.root
        args: list[str] = []
        for key, value in self.spec["hyperparameters"].items():
            args += [f"--{key}", value]  # SageMaker script mode passes hyperparameters as flags
        if self.spec.get("module"):
            cwd = self.dir.code if self.dir.code.exists() else self.dir.root
            return [python, "-m", self.spec["module"], *args], cwd
        return [python, self.spec["entry_point"], *args], self.dir.code

    def job_process(self) -> dict[str, Any]:
        """``subprocess.Popen`` arguments for a process that runs the job's code (or unpickles
        what it saved): its clean environment and, when set, the job user."""
        from dockyard.jobs._contract import environment

        options: dict[str, Any] = {"env": environment(self.dir, self.spec, self.job)}
        if self.user is not None:
            options.update(self.user.popen_options())
        return options

    def _execute(self, attempt: int) -> _Outcome:
        command, cwd = self._command()
        options = self.job_process()
        # Safe with the runner's threads: between fork and exec it makes a few system calls
        # and takes no lock (the libc symbols were looked up before the fork). It runs after
        # the switch to the job user, which would otherwise clear it.
        preexec = _die_with_runner()
        if self.job["kind"] == "transform":
            from dockyard.jobs._contract import store_environment

            options["env"].update(store_environment(self.job))
        else:
            from dockyard.jobs._optml import OptMl

            # Training code sees its folder at /opt/ml; the child mounts it, then switches to
            # the job user and arms the death signal itself.
            optml = OptMl(self.dir, self.user, enabled=bool(self.job.get("opt_ml", True)))
            options = optml.popen_options(options)
            preexec = optml.enter
        log = self.dir.log.open("ab", buffering=0)
        log.write(f"[dockyard] attempt {attempt}: {' '.join(command)}\n".encode())
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a signal to the group reaches the user's whole tree
            preexec_fn=preexec,  # noqa: PLW1509
            **options,
        )
        reader = threading.Thread(target=self._pump, args=(proc, log), daemon=True)
        reader.start()
        outcome = self._watch(proc)
        reader.join(10)  # the last lines, written just before exit, are in the tail only now
        log.close()
        if outcome.kind == "failed" and outcome.exit_code is not None:
            outcome.message = self._failure_reason(outcome.exit_code)
        return outcome

    def _pump(self, proc: subprocess.Popen[bytes], log: Any) -> None:
        assert proc.stdout is not None
        # The metric parser brings an HTTP client: only jobs that define metrics pay for it.
        parses_metrics = bool(self.spec.get("metric_definitions") or self.spec.get("algorithm"))
        for raw in iter(proc.stdout.readline, b""):
            log.write(raw)
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.tail.append(line)
            if self.no_opt_ml is None and line.startswith(MISSING):
                self.no_opt_ml = line
            if parses_metrics:
                if self.metrics is None:
                    from dockyard.jobs._metrics import MetricParser

                    self.metrics = MetricParser(self.spec, self.job)
                self.metrics.feed(line)

    def _watch(self, proc: subprocess.Popen[bytes]) -> _Outcome:
        limit_mb = (self.spec.get("resources") or {}).get("memory_mb")
        max_runtime = (self.spec.get("stopping_condition") or {}).get("max_runtime_s", 86_400 * 28)
        deadline = time.monotonic() + int(max_runtime)
        peak_mb = 0.0
        watcher = _MemoryWatcher(proc.pid) if limit_mb else None
        syncer = _CheckpointSyncer(self) if self.spec.get("checkpoint") else None
        while proc.poll() is None:
            if syncer is not None:
                syncer.maybe_sync()
            if self._stop_seen():
                self._terminate(proc)
                return _Outcome("stopped", "stopped by request")
            if time.monotonic() > deadline:
                self._terminate(proc)
                return _Outcome(
                    "runtime", f"stopped after reaching the maximum runtime of {max_runtime} s"
                )
            if watcher is not None and limit_mb is not None:
                peak_mb = max(peak_mb, watcher.rss_mb())
                if peak_mb > limit_mb:
                    self._kill(proc)
                    return _Outcome(
                        "memory",
                        f"memory limit exceeded: the job used {peak_mb:.0f} MB, its limit is "
                        f"{limit_mb} MB",
                    )
            time.sleep(_POLL_S)
        code = proc.returncode
        if code == 0:
            return _Outcome("ok", exit_code=0)
        return _Outcome("failed", exit_code=code)

    def _failure_reason(self, code: int) -> str:
        # Written by the job: read without following a link it may have left there instead.
        text = (read_text(self.dir.failure, 4000) or "").strip()
        if text:
            return text
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        lines = "\n".join(self.tail) or "(no output)"
        reason = f"the job's process ended with {how}; last lines of its log:\n{lines}"
        from dockyard.jobs._compat import failure_hint

        hint = failure_hint(lines, self.no_opt_ml)
        return f"{reason}\n{hint}" if hint else reason

    def _stop_seen(self) -> bool:
        if not self.stop_requested.is_set() and self.dir.stop_file.exists():
            self.stop_requested.set()
        return self.stop_requested.is_set()

    def _terminate(self, proc: subprocess.Popen[bytes]) -> None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(float(self.job.get("stop_grace_s", 10)))
        except subprocess.TimeoutExpired:
            self._kill(proc)

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()

    def _finish(self, outcome: _Outcome) -> int:
        from dockyard.jobs._finish import finish

        return finish(self, outcome.kind, outcome.message, outcome.exit_code)


class _CheckpointSyncer:
    """Copies ``checkpoints/`` to the checkpoint URI every ``checkpoint_sync_s`` while the
    job runs (on a thread: a slow store never delays stop or limit handling), so a crash of the
    whole machine loses at most that much progress."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self._every = float(runner.job.get("checkpoint_sync_s", 10.0))
        self._next = time.monotonic() + self._every
        self._thread: threading.Thread | None = None

    def maybe_sync(self) -> None:
        if time.monotonic() < self._next or (self._thread and self._thread.is_alive()):
            return
        self._next = time.monotonic() + self._every
        self._thread = threading.Thread(target=self._sync, daemon=True)
        self._thread.start()

    def _sync(self) -> None:
        from dockyard.jobs._prepare import save_checkpoints

        runner = self._runner
        try:
            save_checkpoints(runner.dir, runner.spec, runner.job)
        except Exception as exc:
            with runner.dir.log.open("ab") as log:
                log.write(f"[dockyard] checkpoint sync failed: {exc}\n".encode())


class _MemoryWatcher:
    """Resident memory of the job's whole process tree."""

    def __init__(self, pid: int) -> None:
        import psutil

        self._root = psutil.Process(pid)
        self._psutil = psutil

    def rss_mb(self) -> float:
        total = 0
        try:
            procs = [self._root, *self._root.children(recursive=True)]
        except self._psutil.Error:
            return 0.0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except self._psutil.Error:
                continue
        return total / (1024 * 1024)


_PR_SET_PDEATHSIG = 1


def _die_with_runner() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has Linux SIGKILL the child when this runner dies; None elsewhere.

    The death signal survives ``exec`` and ``setsid`` (the child's own session). It fires when
    the *thread* that started the child ends, which here is the runner's main thread, so in
    effect when the runner does. A transform's worker processes arm it themselves against
    their own parent, so the whole tree goes.
    """
    try:
        import ctypes

        # Looked up here: between fork and exec the child should do as little as possible.
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    runner = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != runner:  # the runner died before the request took effect
            os.kill(os.getpid(), signal.SIGKILL)

    return arm


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m dockyard.jobs._runner JOB_DIR", file=sys.stderr)
        return 2
    return Runner(Path(args[0])).run()


if __name__ == "__main__":
    sys.exit(main())
